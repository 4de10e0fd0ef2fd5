package org.llamawb.model.quant;

/**
 * Per-channel int8 weight-only codes as bitsandbytes' {@code int8_vectorwise_quant} writes them: for each row
 * {@code i} of {@code W [rows, cols]}, {@code s_i = max_j |W_ij|} and {@code q_ij = round(W_ij · (127 / s_i))}
 * (round half to even, in float32); dequantised {@code W'_ij = q_ij · s_i · (1/127)}, evaluated in that order in
 * float32 with bitsandbytes' constant for {@code 1/127}.
 *
 * @param codes {@code [rows · cols]}, row-major
 * @param scales {@code [rows]}: each row's absolute maximum
 * @param cols the row length
 */
public record Int8Rowwise(byte[] codes, float[] scales, int cols) {
    /** bitsandbytes' {@code 7.874015718698502e-3} (1/127) as the float32 it becomes in the product. */
    static final float INV_127 = (float) 7.874015718698502e-3;

    public Int8Rowwise {
        if (cols <= 0 || codes.length != (long) scales.length * cols) {
            throw new IllegalArgumentException("int8 codes: " + codes.length + " values for " + scales.length + " rows of "
                    + cols);
        }
    }

    /** Quantises {@code w}, {@code rows × cols} row-major. */
    public static Int8Rowwise quantize(float[] w, int cols) {
        if (cols <= 0 || w.length % cols != 0) {
            throw new IllegalArgumentException("int8: " + w.length + " values are not rows of " + cols);
        }
        int rows = w.length / cols;
        byte[] q = new byte[w.length];
        float[] s = new float[rows];
        for (int i = 0; i < rows; i++) {
            float max = 0;
            for (int j = 0; j < cols; j++) {
                max = Math.max(max, Math.abs(w[i * cols + j]));
            }
            s[i] = max;
            float k = 127f / max; // float32, as torch divides the Python 127.0 by a float32 tensor
            for (int j = 0; j < cols; j++) {
                q[i * cols + j] = (byte) Math.rint(w[i * cols + j] * k);
            }
        }
        return new Int8Rowwise(q, s, cols);
    }

    /** The dequantised weight, row-major. */
    public float[] dequantize() {
        float[] out = new float[codes.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = codes[i] * scales[i / cols] * INV_127;
        }
        return out;
    }
}
