package org.llamawb.model.gguf;

import java.util.Arrays;

/**
 * A tensor as a GGUF file describes it, before any mapping to Hugging Face names.
 *
 * @param name the llama.cpp name, e.g. {@code blk.0.attn_q.weight}
 * @param dims dimensions in GGUF order: {@code dims[0]} is the fastest-varying (row length), so a
 *     PyTorch {@code [out, in]} matrix is stored as {@code [in, out]}
 * @param type element type
 * @param offset byte offset from the start of the data section
 * @param byteSize bytes it occupies
 */
public record GgufTensorInfo(String name, long[] dims, GgmlType type, long offset, long byteSize) {

    public GgufTensorInfo {
        dims = dims.clone();
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    public long elementCount() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Dimensions outermost first, as PyTorch and Hugging Face write them: {@code dims} reversed. */
    public long[] shape() {
        long[] s = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            s[i] = dims[dims.length - 1 - i];
        }
        return s;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && t.name.equals(name) && Arrays.equals(t.dims, dims)
                && t.type == type && t.offset == offset && t.byteSize == byteSize;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(dims) + " @" + offset;
    }
}
