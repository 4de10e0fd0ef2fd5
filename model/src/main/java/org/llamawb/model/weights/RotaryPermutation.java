package org.llamawb.model.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Reorders the rows of a query or key projection between the two ways of pairing rotary dimensions.
 *
 * <p>Meta's LLaMA code (and llama2.c, and GGUF files from llama.cpp's converter) rotates adjacent pairs
 * {@code (2i, 2i+1)} of each head; Hugging Face's {@code rotate_half} pairs {@code (i, i + headDim/2)}.
 * The same model in Hugging Face form has, within each head, the even rows first and then the odd rows:
 * transformers' conversion script does {@code w.view(heads, headDim/2, 2, in).transpose(1, 2).reshape(out, in)}
 * (with the number of query heads for {@code q_proj}, of key/value heads for {@code k_proj}).
 * Both directions are pure row moves, so they are exact, and both return a new array that does not
 * share memory with their input.
 */
public final class RotaryPermutation {
    private RotaryPermutation() {}

    /** Meta's interleaved rows → Hugging Face's rotate-half rows; {@code w} is {@code [heads * headDim, ...]}. */
    public static NDArray interleavedToRotateHalf(NDArray w, int heads) {
        Shape s = w.getShape();
        long headDim = headDim(s, heads);
        long rest = s.size() / s.get(0);
        if (headDim == 2) {
            return w.duplicate(); // one pair per head: both layouts agree
        }
        try (NDArray v = w.reshape(heads, headDim / 2, 2, rest); // [H, hd/2, 2, in]
                NDArray t = v.transpose(0, 2, 1, 3)) {          // [H, 2, hd/2, in]
            return t.reshape(s);
        }
    }

    /** The inverse of {@link #interleavedToRotateHalf(NDArray, int)}: Hugging Face rows → Meta's rows. */
    public static NDArray rotateHalfToInterleaved(NDArray w, int heads) {
        Shape s = w.getShape();
        long headDim = headDim(s, heads);
        long rest = s.size() / s.get(0);
        if (headDim == 2) {
            return w.duplicate();
        }
        try (NDArray v = w.reshape(heads, 2, headDim / 2, rest); // [H, 2, hd/2, in]
                NDArray t = v.transpose(0, 2, 1, 3)) {           // [H, hd/2, 2, in]
            return t.reshape(s);
        }
    }

    /**
     * The interleaved row that lands in rotate-half row {@code row}: within a head, output row
     * {@code j * headDim/2 + i} comes from input row {@code 2i + j}.
     */
    public static int interleavedSourceRow(int row, int headDim) {
        int head = row / headDim;
        int within = row % headDim;
        int half = headDim / 2;
        int j = within / half;
        int i = within % half;
        return head * headDim + 2 * i + j;
    }

    private static long headDim(Shape s, int heads) {
        if (s.dimension() < 1 || heads <= 0 || s.get(0) % heads != 0 || (s.get(0) / heads) % 2 != 0) {
            throw new IllegalArgumentException("cannot split " + s + " rows into " + heads + " heads of even size");
        }
        return s.get(0) / heads;
    }
}
