package org.llamawb.finetune.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.util.Collection;

/**
 * Global-norm gradient clipping as {@code torch.nn.utils.clip_grad_norm_}: the L2 norm over every
 * gradient together; when it exceeds {@code max}, every gradient is scaled by {@code max / (norm + 1e-6)}.
 */
public final class GradientClipping {
    private GradientClipping() {}

    /** The global L2 norm of the gradients of {@code params}. */
    public static double globalNorm(Collection<NDArray> params) {
        double sumSq = 0;
        try (NDScope scope = new NDScope()) {
            for (NDArray p : params) {
                NDArray g = p.getGradient();
                sumSq += g.square().sum().getFloat();
            }
        }
        return Math.sqrt(sumSq);
    }

    /** Clips in place; returns the norm before clipping (what transformers logs as {@code grad_norm}). */
    public static double clip(Collection<NDArray> params, double max) {
        double norm = globalNorm(params);
        if (max > 0 && norm > max) {
            float scale = (float) (max / (norm + 1e-6));
            try (NDScope scope = new NDScope()) {
                for (NDArray p : params) {
                    p.getGradient().muli(scale);
                }
            }
        }
        return norm;
    }
}
