package org.llamawb.model.gguf;

import java.nio.ByteBuffer;

/** float32 to the block formats {@link GgufWriter} writes, exactly as ggml's reference quantisers do. */
final class Quantizer {
    private Quantizer() {}

    /** Encodes {@code count} values of {@code src[off..]} as {@code type} into {@code dst} (little endian). */
    static void quantize(GgmlType type, float[] src, int off, int count, ByteBuffer dst) {
        switch (type) {
            case F32 -> {
                for (int i = 0; i < count; i++) {
                    dst.putFloat(src[off + i]);
                }
            }
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    dst.putShort(Float16.fromFloat(src[off + i]));
                }
            }
            case Q8_0 -> q80(src, off, count, dst);
            default -> throw new IllegalArgumentException("cannot write tensors of type " + type
                    + " (F32, F16 and Q8_0 are written)");
        }
    }

    /**
     * Q8_0 as {@code quantize_row_q8_0_ref}: per block of 32, {@code d = amax / 127} (stored as f16),
     * {@code q = roundf(x * (1 / d))}, rounding half away from zero, with the unrounded float32 d.
     */
    private static void q80(float[] src, int off, int count, ByteBuffer dst) {
        for (int b = 0; b < count / 32; b++) {
            int o = off + b * 32;
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(src[o + j]));
            }
            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            dst.putShort(Float16.fromFloat(d));
            for (int j = 0; j < 32; j++) {
                dst.put((byte) roundHalfAway(src[o + j] * id));
            }
        }
    }

    /** C's {@code roundf}: halves go away from zero (Java's Math.round sends -2.5 to -2). */
    static int roundHalfAway(float v) {
        double a = Math.floor(Math.abs((double) v) + 0.5);
        return (int) (v < 0 ? -a : a);
    }
}
