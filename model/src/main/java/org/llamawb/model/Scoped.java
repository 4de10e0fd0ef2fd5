package org.llamawb.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.util.function.Supplier;

/**
 * Runs a piece of a step in its own {@link NDScope} and keeps only its results.
 *
 * <p>DJL frees an array when its handle is closed, not when it becomes unreachable, so without this
 * every temporary of a step (norm statistics, transposed copies, logits) would stay resident until the
 * step ends. Closing a handle never disturbs autograd: the graph holds its own references to the
 * tensors it needs. The kept arrays are re-attached to the enclosing scope, if any.
 */
public final class Scoped {
    private Scoped() {}

    /** The result of {@code body}; everything else it created is freed. */
    public static NDArray keep(Supplier<NDArray> body) {
        NDArray out;
        try (NDScope scope = new NDScope()) {
            out = body.get();
            NDScope.unregister(out);
        }
        NDScope.register(out);
        return out;
    }

    /** The results of {@code body} (nulls allowed); everything else it created is freed. */
    public static NDArray[] keepAll(Supplier<NDArray[]> body) {
        NDArray[] out;
        try (NDScope scope = new NDScope()) {
            out = body.get();
            for (NDArray a : out) {
                if (a != null) {
                    NDScope.unregister(a);
                }
            }
        }
        for (NDArray a : out) {
            if (a != null) {
                NDScope.register(a);
            }
        }
        return out;
    }
}
