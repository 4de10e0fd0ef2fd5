package org.llamawb.model.gguf;

import java.nio.ByteBuffer;
import java.util.EnumSet;
import java.util.Set;

/**
 * ggml block formats to float32, following {@code dequantize_row_*} of ggml-quants.c operation by
 * operation (same products in the same order), so results are bit-exact with ggml and with the Python
 * {@code gguf.quants} reference.
 */
final class Dequantizer {
    static final Set<GgmlType> SUPPORTED = EnumSet.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0,
            GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q4_K, GgmlType.Q6_K);

    private Dequantizer() {}

    static boolean supports(GgmlType t) {
        return SUPPORTED.contains(t);
    }

    /**
     * Decodes {@code count} values (a whole number of blocks) from {@code src} (little endian, read from
     * its position 0) into {@code dst[off..off+count)}.
     */
    static void dequantize(GgmlType type, ByteBuffer src, float[] dst, int off, int count) {
        switch (type) {
            case F32 -> {
                for (int i = 0; i < count; i++) {
                    dst[off + i] = src.getFloat(4 * i);
                }
            }
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    dst[off + i] = Float16.toFloat(src.getShort(2 * i));
                }
            }
            // Widened here: DJL aborts the JVM on bfloat16 arrays.
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    dst[off + i] = Float16.bf16ToFloat(src.getShort(2 * i));
                }
            }
            case Q8_0 -> q80(src, dst, off, count);
            case Q4_0 -> q40(src, dst, off, count);
            case Q4_1 -> q41(src, dst, off, count);
            case Q4_K -> q4k(src, dst, off, count);
            case Q6_K -> q6k(src, dst, off, count);
            default -> throw new IllegalArgumentException("no dequantiser for " + type);
        }
    }

    /** Q8_0: per 32 values, f16 scale d then 32 int8; x = q * d. */
    private static void q80(ByteBuffer src, float[] dst, int off, int count) {
        for (int b = 0; b < count / 32; b++) {
            int base = b * 34;
            float d = Float16.toFloat(src.getShort(base));
            for (int j = 0; j < 32; j++) {
                dst[off + b * 32 + j] = src.get(base + 2 + j) * d;
            }
        }
    }

    /** Q4_0: f16 d, 16 bytes of nibbles; low nibbles are values 0..15, high nibbles 16..31; x = (q - 8) * d. */
    private static void q40(ByteBuffer src, float[] dst, int off, int count) {
        for (int b = 0; b < count / 32; b++) {
            int base = b * 18;
            float d = Float16.toFloat(src.getShort(base));
            int o = off + b * 32;
            for (int j = 0; j < 16; j++) {
                int q = src.get(base + 2 + j) & 0xFF;
                dst[o + j] = ((q & 0x0F) - 8) * d;
                dst[o + j + 16] = ((q >>> 4) - 8) * d;
            }
        }
    }

    /** Q4_1: f16 d, f16 m, 16 bytes of nibbles; x = q * d + m. */
    private static void q41(ByteBuffer src, float[] dst, int off, int count) {
        for (int b = 0; b < count / 32; b++) {
            int base = b * 20;
            float d = Float16.toFloat(src.getShort(base));
            float m = Float16.toFloat(src.getShort(base + 2));
            int o = off + b * 32;
            for (int j = 0; j < 16; j++) {
                int q = src.get(base + 4 + j) & 0xFF;
                dst[o + j] = (q & 0x0F) * d + m;
                dst[o + j + 16] = (q >>> 4) * d + m;
            }
        }
    }

    /**
     * Q4_K: super-blocks of 256 = 8 sub-blocks of 32. f16 d, f16 dmin, 12 bytes packing eight 6-bit
     * scales and eight 6-bit mins, 128 bytes of nibbles; x = d*scale * q - dmin*min.
     */
    private static void q4k(ByteBuffer src, float[] dst, int off, int count) {
        int[] sc = new int[8];
        int[] mn = new int[8];
        for (int b = 0; b < count / 256; b++) {
            int base = b * 144;
            float d = Float16.toFloat(src.getShort(base));
            float dmin = Float16.toFloat(src.getShort(base + 2));
            int s = base + 4;
            for (int j = 0; j < 8; j++) {
                if (j < 4) {
                    sc[j] = src.get(s + j) & 63;
                    mn[j] = src.get(s + j + 4) & 63;
                } else {
                    sc[j] = (src.get(s + j + 4) & 0x0F) | (((src.get(s + j - 4) & 0xFF) >>> 6) << 4);
                    mn[j] = ((src.get(s + j + 4) & 0xFF) >>> 4) | (((src.get(s + j) & 0xFF) >>> 6) << 4);
                }
            }
            int q = base + 16;
            int o = off + b * 256;
            for (int j = 0; j < 4; j++) {
                float d1 = d * sc[2 * j];
                float m1 = dmin * mn[2 * j];
                float d2 = d * sc[2 * j + 1];
                float m2 = dmin * mn[2 * j + 1];
                for (int l = 0; l < 32; l++) {
                    int v = src.get(q + 32 * j + l) & 0xFF;
                    dst[o + 64 * j + l] = d1 * (v & 0x0F) - m1;
                    dst[o + 64 * j + 32 + l] = d2 * (v >>> 4) - m2;
                }
            }
        }
    }

    /**
     * Q6_K: super-blocks of 256. 128 bytes of low nibbles, 64 bytes of 2-bit high parts, 16 int8 scales
     * (one per 16 values), f16 d; x = d * scale * (q - 32).
     */
    private static void q6k(ByteBuffer src, float[] dst, int off, int count) {
        for (int b = 0; b < count / 256; b++) {
            int base = b * 210;
            float d = Float16.toFloat(src.getShort(base + 208));
            for (int n = 0; n < 2; n++) {
                int ql = base + 64 * n;
                int qh = base + 128 + 32 * n;
                int sc = base + 192 + 8 * n;
                int o = off + b * 256 + 128 * n;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int h = src.get(qh + l) & 0xFF;
                    int lo0 = src.get(ql + l) & 0xFF;
                    int lo32 = src.get(ql + l + 32) & 0xFF;
                    int q1 = ((lo0 & 0x0F) | ((h & 3) << 4)) - 32;
                    int q2 = ((lo32 & 0x0F) | (((h >>> 2) & 3) << 4)) - 32;
                    int q3 = ((lo0 >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
                    int q4 = ((lo32 >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
                    dst[o + l] = d * src.get(sc + is) * q1;
                    dst[o + l + 32] = d * src.get(sc + is + 2) * q2;
                    dst[o + l + 64] = d * src.get(sc + is + 4) * q3;
                    dst[o + l + 96] = d * src.get(sc + is + 6) * q4;
                }
            }
        }
    }
}
