package org.llamawb.model.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * A frozen weight held in less memory than float32 and widened to a new float32 array on each use, so that only the
 * weights of the layer being computed exist in float32 at any time.
 */
public sealed interface FrozenWeight extends AutoCloseable permits QuantizedWeight, HalfWeight, GgufBlockWeight {
    /** The weight's shape, e.g. {@code [out, in]} for a projection. */
    Shape shape();

    /** Bytes held for this weight. */
    long bytes();

    /** The float32 weight, new on each call (free it with the step's scope); no gradient is recorded. */
    NDArray dense();

    /**
     * Rows {@code [from, to)} of the float32 weight, {@code [to - from, in]}, bitwise those rows of {@link #dense()}:
     * a large table (the LM head) widened a piece at a time. This default widens the whole weight for the slice; a
     * storage that can widen rows alone overrides it.
     */
    default NDArray denseRows(long from, long to) {
        return dense().get(new NDIndex("{}:{}", from, to));
    }

    @Override
    void close();
}
