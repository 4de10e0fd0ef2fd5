package org.llamawb.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/** Boolean attention masks (true = may attend), built from index comparisons (DJL has no triu). */
public final class Masks {
    private Masks() {}

    /**
     * Causal mask {@code [1, 1, T, S]} for T queries that are the last T of S positions:
     * query i (at absolute position S-T+i) may attend key j iff {@code j <= S - T + i}.
     */
    public static NDArray causal(NDManager m, long t, long s) {
        NDArray rows = m.arange(s - t, s, 1, DataType.INT64).expandDims(1); // [T,1] absolute query positions
        NDArray cols = m.arange(0, s, 1, DataType.INT64).expandDims(0); // [1,S]
        return cols.lte(rows).expandDims(0).expandDims(0); // [1,1,T,S]
    }

    /**
     * Causal mask within segments {@code [B, 1, T, T]} for packed rows: token i may attend token j iff
     * {@code j <= i} and both belong to the same example ({@code segments[b,i] == segments[b,j]}).
     *
     * @param segments {@code [B, T]} int64 example index of each token
     */
    public static NDArray causalWithinSegments(NDArray segments) {
        NDManager m = segments.getManager();
        long t = segments.getShape().get(1);
        NDArray same = segments.expandDims(2).eq(segments.expandDims(1)); // [B,T,T]
        NDArray causal = causal(m, t, t).squeeze(0); // [1,T,T]
        return same.logicalAnd(causal).expandDims(1); // [B,1,T,T]
    }
}
