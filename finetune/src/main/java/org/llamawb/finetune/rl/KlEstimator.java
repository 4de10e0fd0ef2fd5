package org.llamawb.finetune.rl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Per-token estimators of KL(π ‖ π_ref) from the log-probabilities of the sampled tokens (Schulman,
 * "Approximating KL divergence"), with {@code log r = log π_ref − log π}:
 * <ul>
 *   <li>{@link #K1}: {@code −log r}; unbiased, can be negative per token (TRL PPO's default);
 *   <li>{@link #K3}: {@code (r − 1) − log r}; unbiased and never negative (TRL PPO's {@code kl_estimator="k3"},
 *       and the only estimator of GRPOTrainer).
 * </ul>
 */
public enum KlEstimator {
    K1,
    K3;

    /** The estimate at one token. */
    public double of(double logprob, double refLogprob) {
        double logr = refLogprob - logprob;
        return switch (this) {
            case K1 -> -logr;
            case K3 -> Math.expm1(logr) - logr;
        };
    }

    /** Elementwise over {@code [B, T]} arrays on the host. */
    public double[][] of(double[][] logprobs, double[][] refLogprobs) {
        double[][] out = new double[logprobs.length][];
        for (int b = 0; b < logprobs.length; b++) {
            out[b] = new double[logprobs[b].length];
            for (int t = 0; t < logprobs[b].length; t++) {
                out[b][t] = of(logprobs[b][t], refLogprobs[b][t]);
            }
        }
        return out;
    }

    /**
     * Elementwise on DJL arrays, differentiable with respect to {@code logprobs} (GRPO puts β·KL in the loss).
     * The reference log-probabilities carry no gradient.
     */
    public NDArray of(NDArray logprobs, NDArray refLogprobs) {
        NDArray logr = refLogprobs.sub(logprobs);
        return switch (this) {
            case K1 -> logr.neg();
            // exp(logr) − logr − 1, the order GRPOTrainer writes it; the 1 is a 0-d tensor (see djl-notes)
            case K3 -> logr.exp().sub(logr).sub(logr.getManager().full(new Shape(), 1f, logr.getDataType()));
        };
    }
}
