package org.llamawb.model.quant;

import ai.djl.ndarray.NDArray;
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

    @Override
    void close();
}
