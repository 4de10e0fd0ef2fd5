package org.llamawb.model.quant;

import java.util.Arrays;

/**
 * 4-bit NormalFloat (Dettmers et al., 2023, QLoRA) as bitsandbytes' {@code quantize_4bit(quant_type="nf4")} defines
 * it: the flattened weight in blocks of {@code blockSize} (64), each scaled by its absolute maximum into
 * {@code [-1, 1]} ({@code x · (1 / absmax)}, float32, clamped) and coded as the index of the nearest of the 16
 * {@link #LEVELS} (ties to the lower level: bitsandbytes bucketizes against the midpoints); two codes per byte,
 * the first in the high nibble, an odd count padded with the code of 0. Dequantised {@code LEVELS[q] · absmax}.
 *
 * <p>With double quantisation the block maxima are themselves coded: their mean {@code offset} is subtracted and
 * the rest goes through bitsandbytes' 8-bit blockwise quantiser ({@link DynamicCode}, blocks of 256), saving
 * 32 → 8.13 bits per block scale; dequantised {@code absmax = CODE[qa] · absmax2 + offset}.
 *
 * @param shape the weight's shape
 * @param blockSize values per block scale
 * @param packed {@code ⌈n / 2⌉} bytes of two 4-bit codes
 * @param absmax each block's scale as dequantisation uses it (decoded from {@code nested} when that is present)
 * @param nested the double-quantised block scales, or null
 */
public record Nf4(long[] shape, int blockSize, byte[] packed, float[] absmax, DoubleQuant nested) {

    /**
     * The 16 NF4 levels, bitsandbytes' float32 table (quantiles of N(0, 1) normalised to [-1, 1], with an exact
     * zero; asymmetric: 7 negative, 8 positive). Written as float bit patterns so that they are these floats exactly.
     */
    public static final float[] LEVELS = {
        Float.intBitsToFloat(0xbf800000), Float.intBitsToFloat(0xbf3239b1), Float.intBitsToFloat(0xbf066b30),
        Float.intBitsToFloat(0xbeca32a0), Float.intBitsToFloat(0xbe91a24d), Float.intBitsToFloat(0xbe3d353f),
        Float.intBitsToFloat(0xbdba7871), 0f, Float.intBitsToFloat(0x3da2faff), Float.intBitsToFloat(0x3e24cae3),
        Float.intBitsToFloat(0x3e7c04dd), Float.intBitsToFloat(0x3ead033a), Float.intBitsToFloat(0x3ee1a4b8),
        Float.intBitsToFloat(0x3f1007ab), Float.intBitsToFloat(0x3f3913b3), Float.intBitsToFloat(0x3f800000),
    };

    /** The 15 midpoints {@code (LEVELS[i] + LEVELS[i+1]) / 2}, in float32. */
    private static final float[] BOUNDS = new float[15];

    static {
        for (int i = 0; i < BOUNDS.length; i++) {
            BOUNDS[i] = (LEVELS[i] + LEVELS[i + 1]) / 2;
        }
    }

    /** bitsandbytes' default: one scale per 64 values. */
    public static final int BLOCK = 64;
    /** The block of the double quantisation of the scales. */
    public static final int NESTED_BLOCK = 256;

    /** The block scales coded in 8 bits: {@code absmax ≈ CODE[codes] · absmax2[block] + offset}. */
    public record DoubleQuant(byte[] codes, float[] absmax2, float offset) {
        /** Codes {@code absmax - offset} as bitsandbytes' {@code quantize_blockwise(blocksize=256)}. */
        public static DoubleQuant of(float[] absmax, float offset) {
            float[] centred = new float[absmax.length];
            for (int i = 0; i < centred.length; i++) {
                centred[i] = absmax[i] - offset;
            }
            int blocks = (centred.length + NESTED_BLOCK - 1) / NESTED_BLOCK;
            byte[] codes = new byte[centred.length];
            float[] absmax2 = new float[blocks];
            for (int b = 0; b < blocks; b++) {
                int from = b * NESTED_BLOCK;
                int to = Math.min(centred.length, from + NESTED_BLOCK);
                float max = 0;
                for (int i = from; i < to; i++) {
                    max = Math.max(max, Math.abs(centred[i]));
                }
                absmax2[b] = max;
                for (int i = from; i < to; i++) {
                    codes[i] = (byte) DynamicCode.nearest(centred[i] / max); // divided, as bitsandbytes' CPU kernel
                }
            }
            return new DoubleQuant(codes, absmax2, offset);
        }

        /** The block scales these codes stand for. */
        public float[] decode() {
            float[] out = new float[codes.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = DynamicCode.CODE[codes[i] & 0xff] * absmax2[i / NESTED_BLOCK] + offset;
            }
            return out;
        }
    }

    /**
     * Quantises {@code w} (any shape, {@code shape} its dimensions); with {@code doubleQuant} the block scales are
     * coded too, around their mean (computed in float64 and rounded: bitsandbytes takes torch's float32 mean, whose
     * summation order depends on the CPU's vector width, so the two may differ in the last bit).
     */
    public static Nf4 quantize(float[] w, long[] shape, int blockSize, boolean doubleQuant) {
        if (Arrays.stream(shape).reduce(1, (a, b) -> a * b) != w.length) {
            throw new IllegalArgumentException("nf4: " + w.length + " values for shape " + Arrays.toString(shape));
        }
        if (blockSize <= 0) {
            throw new IllegalArgumentException("nf4: block size must be > 0, got " + blockSize);
        }
        int n = w.length;
        int blocks = (n + blockSize - 1) / blockSize;
        float[] absmax = new float[blocks];
        byte[] packed = new byte[(n + 1) / 2];
        for (int b = 0; b < blocks; b++) {
            int from = b * blockSize;
            int to = Math.min(n, from + blockSize);
            float max = 0;
            for (int i = from; i < to; i++) {
                max = Math.max(max, Math.abs(w[i]));
            }
            absmax[b] = max;
            float inv = 1f / Math.max(max, 1e-38f); // bitsandbytes clamps before the reciprocal
            for (int i = from; i < to; i++) {
                float scaled = Math.max(-1f, Math.min(1f, w[i] * inv));
                int q = code(scaled);
                packed[i / 2] |= (byte) ((i % 2 == 0) ? q << 4 : q);
            }
        }
        if (n % 2 == 1) {
            packed[n / 2] |= (byte) code(0f); // the padding value 0 is coded like any other
        }
        if (!doubleQuant) {
            return new Nf4(shape.clone(), blockSize, packed, absmax, null);
        }
        double sum = 0;
        for (float a : absmax) {
            sum += a;
        }
        DoubleQuant dq = DoubleQuant.of(absmax, (float) (sum / absmax.length));
        return new Nf4(shape.clone(), blockSize, packed, dq.decode(), dq);
    }

    /** The index of the NF4 level for a scaled value: the number of midpoints below it (torch.bucketize, right=False). */
    static int code(float scaled) {
        int q = 0;
        while (q < BOUNDS.length && BOUNDS[q] < scaled) {
            q++;
        }
        return q;
    }

    /** The 4-bit code of value {@code i}. */
    public int codeAt(long i) {
        int b = packed[(int) (i / 2)] & 0xff;
        return i % 2 == 0 ? b >>> 4 : b & 0xf;
    }

    public long size() {
        return Arrays.stream(shape).reduce(1, (a, b) -> a * b);
    }

    /** The dequantised weight, flattened: {@code LEVELS[q] · absmax[block]} in float32. */
    public float[] dequantize() {
        float[] out = new float[Math.toIntExact(size())];
        for (int i = 0; i < out.length; i++) {
            out[i] = LEVELS[codeAt(i)] * absmax[i / blockSize];
        }
        return out;
    }
}
