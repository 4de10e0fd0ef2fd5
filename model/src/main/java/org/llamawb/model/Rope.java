package org.llamawb.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embeddings (Su et al., 2021) in Hugging Face's rotate-half layout:
 * {@code x' = x·cos + rotate_half(x)·sin}, with {@code rotate_half([x1, x2]) = [-x2, x1]} over the two
 * halves of each head. Frequencies follow the configured scaling (default, linear or llama3).
 *
 * <p>The tables are computed in float32 the way transformers does ({@code angle = position · inv_freq}
 * rounded to float, then cos/sin) and grow on demand past {@code max_position_embeddings}.
 */
public final class Rope {
    private final float[] inverseFrequencies; // [D/2]
    private final int headDim;
    private final NDManager manager;
    private NDArray cos; // [L, D]
    private NDArray sinSigned; // [L, D]: [-sin, +sin] halves, so rotate_half becomes a swap of halves
    private int length;

    Rope(LlamaConfig config, NDManager manager) {
        this.headDim = config.headDim();
        this.inverseFrequencies = config.ropeScaling().inverseFrequencies(headDim, config.ropeTheta());
        this.manager = manager;
        ensure(Math.min(config.maxPositionEmbeddings(), 4096));
    }

    /** Makes the tables cover positions {@code [0, n)}. */
    synchronized void ensure(int n) {
        if (n <= length) {
            return;
        }
        int len = Math.max(n, length * 2);
        int half = headDim / 2;
        float[] c = new float[len * headDim];
        float[] s = new float[len * headDim];
        for (int p = 0; p < len; p++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) p * inverseFrequencies[i];
                float cv = (float) Math.cos(angle);
                float sv = (float) Math.sin(angle);
                c[p * headDim + i] = cv;
                c[p * headDim + half + i] = cv;
                s[p * headDim + i] = -sv;
                s[p * headDim + half + i] = sv;
            }
        }
        NDArray oldCos = cos;
        NDArray oldSin = sinSigned;
        cos = manager.create(c, new Shape(len, headDim));
        sinSigned = manager.create(s, new Shape(len, headDim));
        NDScope.unregister(cos, sinSigned); // long-lived even when first needed inside a step's scope
        length = len;
        if (oldCos != null) {
            oldCos.close();
            oldSin.close();
        }
    }

    /**
     * The cos and signed-sin tables for the given positions, broadcastable against {@code [B,H,T,D]}.
     *
     * @param positions {@code [B,T]} int64 position ids, or null for {@code start, start+1, ...}
     * @param start first position when {@code positions} is null
     * @param t sequence length
     */
    public NDArray[] tables(NDArray positions, int start, int t) {
        if (positions == null) {
            ensure(start + t);
            NDIndex rows = new NDIndex().addSliceDim(start, start + t);
            return new NDArray[] {cos.get(rows), sinSigned.get(rows)}; // [T, D] each
        }
        ensure(Math.toIntExact(positions.max().getLong()) + 1);
        NDArray c = cos.get(new NDIndex("{}", positions)).expandDims(1); // [B, 1, T, D]
        NDArray s = sinSigned.get(new NDIndex("{}", positions)).expandDims(1);
        return new NDArray[] {c, s};
    }

    /** Rotates {@code x: [B,H,T,D]} with tables from {@link #tables}. */
    public NDArray apply(NDArray x, NDArray[] tables) {
        return x.mul(tables[0]).add(swapHalves(x).mul(tables[1]));
    }

    /** {@code [x1, x2]} to {@code [x2, x1]} over the last dimension: a reshape to two halves and a flip. */
    NDArray swapHalves(NDArray x) {
        Shape s = x.getShape();
        long[] halves = new long[s.dimension() + 1];
        for (int i = 0; i < s.dimension() - 1; i++) {
            halves[i] = s.get(i);
        }
        halves[s.dimension() - 1] = 2;
        halves[s.dimension()] = headDim / 2;
        return x.reshape(new Shape(halves)).flip(s.dimension() - 1).reshape(s); // [..., 2, D/2] flipped on the 2
    }

    public int headDim() {
        return headDim;
    }
}
