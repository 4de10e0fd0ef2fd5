package org.llamawb.model.gguf;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.llamawb.model.BadInputException;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.RopeScaling;

/**
 * {@link LlamaConfig} from and to GGUF's {@code llama.*} metadata (one place, both directions).
 *
 * <p>GGUF stores floats as float32, so {@code 1e-5} comes back as {@code 9.99999974e-6}; values are
 * returned as the shortest decimal that round-trips through float32 ({@code 1e-5}), as in config.json.
 */
public final class LlamaMetadata {
    /** llama.cpp's {@code general.file_type} (llama_ftype) for files whose matrices are of one type. */
    static long fileType(GgmlType matrices) {
        return switch (matrices) {
            case F32 -> 0;
            case F16 -> 1;
            case Q8_0 -> 7;
            default -> throw new IllegalArgumentException("no file type for " + matrices);
        };
    }

    private LlamaMetadata() {}

    /**
     * Reads the model shape. {@code tied} says whether the file has no {@code output.weight} (the LM
     * head reuses the embedding); {@code ropeFreqs} is the {@code rope_freqs.weight} tensor or null.
     */
    public static LlamaConfig read(GgufFile f, boolean tied, float[] ropeFreqs) {
        String arch = f.string("general.architecture");
        if (!arch.equals("llama")) {
            throw new BadInputException(f.path() + ": general.architecture is '" + arch
                    + "', not a LLaMA-family model (expected llama)");
        }
        String p = arch + ".";
        int hidden = intKey(f, p + "embedding_length");
        int heads = intKey(f, p + "attention.head_count");
        int kvHeads = optIntKey(f, p + "attention.head_count_kv", heads);
        int headDim;
        if (f.has(p + "attention.key_length")) {
            headDim = intKey(f, p + "attention.key_length");
        } else if (f.has(p + "rope.dimension_count")) {
            headDim = intKey(f, p + "rope.dimension_count");
        } else {
            if (hidden % heads != 0) {
                throw new BadInputException(f.path() + ": " + p + "embedding_length " + hidden
                        + " is not divisible by the head count " + heads + " and no key_length is given");
            }
            headDim = hidden / heads;
        }
        int vocab;
        if (f.has("tokenizer.ggml.tokens")) {
            vocab = f.array("tokenizer.ggml.tokens", GgufValueType.STRING).length();
        } else if (f.has(p + "vocab_size")) {
            vocab = intKey(f, p + "vocab_size");
        } else {
            vocab = f.tensor("token_embd.weight").map(t -> (int) t.dims()[1]).orElseThrow(() ->
                    new BadInputException(f.path() + ": no vocabulary size (no tokenizer.ggml.tokens, "
                            + p + "vocab_size or token_embd.weight)"));
        }
        double theta = asConfigFloat(f.optNumber(p + "rope.freq_base").orElse(10000.0));
        double eps = asConfigFloat(f.optNumber(p + "attention.layer_norm_rms_epsilon").orElseThrow(() ->
                new BadInputException(f.path() + ": missing metadata '" + p + "attention.layer_norm_rms_epsilon'")));
        RopeScaling scaling = ropeScaling(f, p, headDim, theta, ropeFreqs);
        OptionalLong bos = f.optInteger("tokenizer.ggml.bos_token_id");
        OptionalLong eos = f.optInteger("tokenizer.ggml.eos_token_id");
        List<Integer> eosIds = new ArrayList<>();
        if (eos.isPresent()) {
            eosIds.add((int) eos.getAsLong());
        }
        try {
            return new LlamaConfig(vocab, hidden, intKey(f, p + "feed_forward_length"), intKey(f, p + "block_count"),
                    heads, kvHeads, headDim, theta, scaling, eps, tied, bos.isPresent() ? (int) bos.getAsLong() : -1,
                    eosIds, false, false, intKey(f, p + "context_length"));
        } catch (BadInputException e) {
            throw new BadInputException(f.path() + ": " + e.getMessage(), e);
        }
    }

    private static RopeScaling ropeScaling(GgufFile f, String p, int headDim, double theta, float[] ropeFreqs) {
        String type = f.optString(p + "rope.scaling.type").orElse("none");
        if (ropeFreqs != null) {
            return llama3FromFactors(f, p, headDim, theta, ropeFreqs);
        }
        return switch (type) {
            case "none" -> RopeScaling.NONE;
            case "linear" -> new RopeScaling(RopeScaling.Type.LINEAR,
                    f.optNumber(p + "rope.scaling.factor").orElseThrow(() -> new BadInputException(
                            f.path() + ": rope.scaling.type is linear but " + p + "rope.scaling.factor is missing")),
                    0, 0, 0);
            default -> throw new BadInputException(f.path() + ": " + p + "rope.scaling.type '" + type
                    + "' is not supported (expected none or linear)");
        };
    }

    /**
     * Llama 3 scaling is stored by llama.cpp as per-frequency divisors ({@code rope_freqs.weight}), not
     * as its parameters. Recovers the parameters by matching the divisors against those of the factor
     * they show with the parameters every Llama 3.x release uses (low 1, high 4, original context 8192,
     * or {@code rope.scaling.original_context_length} when present).
     */
    private static RopeScaling llama3FromFactors(GgufFile f, String p, int headDim, double theta, float[] freqs) {
        if (freqs.length != headDim / 2) {
            throw new BadInputException(f.path() + ": rope_freqs.weight has " + freqs.length + " values, expected "
                    + headDim / 2);
        }
        float factor = 1;
        for (float v : freqs) {
            factor = Math.max(factor, v);
        }
        int original = (int) f.optInteger(p + "rope.scaling.original_context_length").orElse(8192);
        RopeScaling candidate = new RopeScaling(RopeScaling.Type.LLAMA3, factor, 1, 4, original);
        float[] plain = RopeScaling.NONE.inverseFrequencies(headDim, theta);
        float[] scaled = candidate.inverseFrequencies(headDim, theta);
        for (int i = 0; i < freqs.length; i++) {
            double expected = plain[i] / scaled[i];
            if (Math.abs(expected - freqs[i]) > 1e-3 * Math.max(1, Math.abs(expected))) {
                throw new BadInputException(f.path() + ": rope_freqs.weight does not match Llama 3 rope scaling"
                        + " (factor " + factor + ", low 1, high 4, original " + original + "); cannot recover it");
            }
        }
        return candidate;
    }

    /** The per-frequency divisors llama.cpp stores as {@code rope_freqs.weight} for Llama 3 scaling. */
    static float[] llama3Factors(LlamaConfig c) {
        float[] plain = RopeScaling.NONE.inverseFrequencies(c.headDim(), c.ropeTheta());
        float[] scaled = c.ropeScaling().inverseFrequencies(c.headDim(), c.ropeTheta());
        float[] out = new float[plain.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = plain[i] / scaled[i];
        }
        return out;
    }

    /** Writes the {@code general.*} and {@code llama.*} keys describing {@code c}. */
    public static void write(LlamaConfig c, GgufWriter w, String name, GgmlType matrices) {
        w.putString("general.architecture", "llama");
        w.putString("general.name", name);
        w.putUint32("general.file_type", fileType(matrices));
        w.putUint32("llama.context_length", c.maxPositionEmbeddings());
        w.putUint32("llama.embedding_length", c.hiddenSize());
        w.putUint32("llama.block_count", c.numHiddenLayers());
        w.putUint32("llama.feed_forward_length", c.intermediateSize());
        w.putUint32("llama.rope.dimension_count", c.headDim());
        w.putUint32("llama.attention.head_count", c.numAttentionHeads());
        w.putUint32("llama.attention.head_count_kv", c.numKeyValueHeads());
        w.putFloat32("llama.attention.layer_norm_rms_epsilon", (float) c.rmsNormEps());
        w.putFloat32("llama.rope.freq_base", (float) c.ropeTheta());
        if (c.headDim() * c.numAttentionHeads() != c.hiddenSize()) {
            w.putUint32("llama.attention.key_length", c.headDim());
            w.putUint32("llama.attention.value_length", c.headDim());
        }
        w.putUint32("llama.vocab_size", c.vocabSize());
        switch (c.ropeScaling().type()) {
            case DEFAULT -> { }
            case LINEAR -> {
                w.putString("llama.rope.scaling.type", "linear");
                w.putFloat32("llama.rope.scaling.factor", (float) c.ropeScaling().factor());
            }
            case LLAMA3 -> {
                // The factors go into the rope_freqs.weight tensor (see LlamaGgufExporter); llama.cpp has
                // no key for low/high frequency factors.
                w.putUint32("llama.rope.scaling.original_context_length",
                        c.ropeScaling().originalMaxPositionEmbeddings());
            }
        }
    }

    private static int intKey(GgufFile f, String key) {
        long v = f.integer(key);
        if (v < 0 || v > Integer.MAX_VALUE) {
            throw new BadInputException(f.path() + ": metadata '" + key + "' = " + v + " is out of range");
        }
        return (int) v;
    }

    private static int optIntKey(GgufFile f, String key, int dflt) {
        return f.has(key) ? intKey(f, key) : dflt;
    }

    /** The shortest decimal that is the same float32, e.g. 9.99999974e-6 → 1e-5. */
    private static double asConfigFloat(double v) {
        return Double.parseDouble(Float.toString((float) v));
    }
}
