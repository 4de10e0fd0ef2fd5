package org.llamawb.model;

/**
 * How rotary frequencies are rescaled for long contexts ({@code rope_scaling} / {@code rope_parameters}
 * in {@code config.json}).
 *
 * @param type the scaling rule
 * @param factor how much longer the context is than the original (for {@code linear} and {@code llama3})
 * @param lowFreqFactor {@code low_freq_factor} of {@code llama3}
 * @param highFreqFactor {@code high_freq_factor} of {@code llama3}
 * @param originalMaxPositionEmbeddings {@code original_max_position_embeddings} of {@code llama3}
 */
public record RopeScaling(
        Type type, double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositionEmbeddings) {

    /** The scaling rules we implement; Hugging Face spells them {@code default}, {@code linear}, {@code llama3}. */
    public enum Type {
        DEFAULT("default"),
        LINEAR("linear"),
        LLAMA3("llama3");

        private final String hfName;

        Type(String hfName) {
            this.hfName = hfName;
        }

        public String hfName() {
            return hfName;
        }

        static Type parse(String s, String key) {
            for (Type t : values()) {
                if (t.hfName.equals(s)) {
                    return t;
                }
            }
            throw new BadInputException(
                    key + ": unsupported rope type '" + s + "' (expected default, linear or llama3)");
        }
    }

    public static final RopeScaling NONE = new RopeScaling(Type.DEFAULT, 1, 0, 0, 0);

    public RopeScaling {
        if (type != Type.DEFAULT && !(factor > 0)) {
            throw new BadInputException("rope_scaling.factor must be > 0, got " + factor);
        }
        if (type == Type.LLAMA3) {
            if (!(highFreqFactor > lowFreqFactor)) {
                throw new BadInputException("rope_scaling: high_freq_factor (" + highFreqFactor
                        + ") must be greater than low_freq_factor (" + lowFreqFactor + ")");
            }
            if (originalMaxPositionEmbeddings <= 0) {
                throw new BadInputException("rope_scaling.original_max_position_embeddings must be > 0");
            }
        }
    }

    /**
     * The rotary inverse frequencies for one head, {@code [headDim / 2]}, computed in float32 exactly
     * as transformers does: {@code 1 / theta^(2i / d)}, then rescaled by this rule.
     */
    public float[] inverseFrequencies(int headDim, double theta) {
        float[] inv = new float[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            float exponent = (float) (2 * i) / (float) headDim;
            inv[i] = (float) (1.0 / (float) Math.pow((float) theta, exponent));
        }
        switch (type) {
            case DEFAULT -> { }
            case LINEAR -> {
                for (int i = 0; i < inv.length; i++) {
                    inv[i] = (float) (inv[i] / factor);
                }
            }
            case LLAMA3 -> {
                // Frequencies whose wavelength is longer than the original context are divided by the
                // factor, short ones kept, and the band between is interpolated smoothly.
                double lowFreqWavelen = originalMaxPositionEmbeddings / lowFreqFactor;
                double highFreqWavelen = originalMaxPositionEmbeddings / highFreqFactor;
                for (int i = 0; i < inv.length; i++) {
                    float f = inv[i];
                    float wavelen = (float) (2 * Math.PI / f);
                    float scaled = wavelen > lowFreqWavelen ? (float) (f / factor) : f;
                    boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
                    if (medium) {
                        float smooth = (float) ((originalMaxPositionEmbeddings / wavelen - lowFreqFactor)
                                / (highFreqFactor - lowFreqFactor));
                        scaled = (float) ((1 - smooth) * scaled / factor + smooth * scaled);
                    }
                    inv[i] = scaled;
                }
            }
        }
        return inv;
    }
}
