package org.llamawb.model.gguf;

/**
 * The row order of query/key projections in GGUF versus Hugging Face.
 *
 * <p>Hugging Face applies rotary embeddings "rotate-half": within a head of {@code D} rows, row
 * {@code i} pairs with row {@code i + D/2}. Meta's original layout (which llama.cpp uses) pairs adjacent
 * rows {@code 2i, 2i+1}. llama.cpp's converter ({@code LlamaModel.permute}) reshapes the rows as
 * {@code [heads, 2, D/2]}, swaps the last two axes and flattens, so Hugging Face row
 * {@code h*D + j*(D/2) + i} becomes GGUF row {@code h*D + 2i + j}. {@link #toGguf} does that,
 * {@link #toHf} inverts it exactly; both move whole rows of {@code rowLength} values.
 */
public final class QkPermutation {
    private QkPermutation() {}

    /** Hugging Face (rotate-half) rows to GGUF (interleaved) rows. */
    public static float[] toGguf(float[] hf, int heads, int rowLength) {
        float[] out = new float[hf.length];
        move(hf, out, hf.length, heads, rowLength, true);
        return out;
    }

    /** GGUF (interleaved) rows to Hugging Face (rotate-half) rows. */
    public static float[] toHf(float[] gguf, int heads, int rowLength) {
        float[] out = new float[gguf.length];
        move(gguf, out, gguf.length, heads, rowLength, false);
        return out;
    }

    /** GGUF rows to Hugging Face rows of raw bytes: quantised blocks, {@code rowLength} bytes a row, move whole. */
    public static byte[] toHf(byte[] gguf, int heads, int rowLength) {
        byte[] out = new byte[gguf.length];
        move(gguf, out, gguf.length, heads, rowLength, false);
        return out;
    }

    /** Copies the rows of {@code src} (an array of {@code length} elements) to their places in {@code out}. */
    private static void move(Object src, Object out, int length, int heads, int rowLength, boolean toGguf) {
        if (heads <= 0 || rowLength <= 0 || length % ((long) heads * rowLength) != 0) {
            throw new IllegalArgumentException(length + " values are not " + heads + " heads of rows of "
                    + rowLength);
        }
        int rows = length / rowLength;
        int d = rows / heads;
        if (d % 2 != 0) {
            throw new IllegalArgumentException("head size " + d + " must be even to permute rotary rows");
        }
        int half = d / 2;
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < 2; j++) {
                for (int i = 0; i < half; i++) {
                    int hfRow = h * d + j * half + i;
                    int ggufRow = h * d + 2 * i + j;
                    int from = toGguf ? hfRow : ggufRow;
                    int to = toGguf ? ggufRow : hfRow;
                    System.arraycopy(src, from * rowLength, out, to * rowLength, rowLength);
                }
            }
        }
    }
}
