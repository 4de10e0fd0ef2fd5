package org.llamawb.finetune.rl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * PPO's clipped surrogate losses on one micro-batch, as TRL's PPOTrainer computes them.
 *
 * <p>Policy, with {@code ρ_t = exp(log π_θ − log π_old)} and whitened advantages {@code A_t}:
 * <pre>
 *   L_π = masked_mean( max(−A_t·ρ_t, −A_t·clip(ρ_t, 1−ε, 1+ε)) )        over response tokens
 * </pre>
 * Value, with returns {@code R_t} and the rollout's values {@code V_old}:
 * <pre>
 *   V̂ = clip(V_θ, V_old − ε_v, V_old + ε_v)
 *   L_V = ½ · masked_mean( max((V_θ − R)², (V̂ − R)²) )                   over t ≤ L
 * </pre>
 * Constants are 0-d tensors: DJL's scalar operands corrupt gradients (see djl-notes).
 */
public final class PpoLoss {
    private PpoLoss() {}

    /**
     * The policy loss and TRL's statistics of it.
     *
     * @param loss 0-d, differentiable ({@code loss/policy_avg})
     * @param clipFraction fraction of response tokens where the clipped term is the larger ({@code policy/clipfrac_avg})
     * @param approxKl {@code ½·mean((log π_θ − log π_old)²)} over all {@code B·T} positions, padding counting as 0
     *        ({@code policy/approxkl_avg})
     * @param ratioMean mean of ρ over all positions, padding counting as 1 ({@code val/ratio})
     */
    public record Policy(NDArray loss, double clipFraction, double approxKl, double ratioMean) {}

    /**
     * The value loss and the fraction of value positions where clipping made it larger ({@code val/clipfrac_avg}).
     *
     * @param loss 0-d, differentiable ({@code loss/value_avg})
     */
    public record Value(NDArray loss, double clipFraction) {}

    /**
     * @param logprobs {@code [B, T]} log π_θ of the sampled tokens (with gradient)
     * @param oldLogprobs {@code [B, T]} log π_old from the rollout
     * @param advantages {@code [B, T]} {@link PpoTargets#advantages()}
     * @param responseMask {@code [B, T]} 1 for response tokens, 0 for padding (float)
     * @param clipRange ε ({@code cliprange})
     */
    public static Policy policy(NDArray logprobs, NDArray oldLogprobs, NDArray advantages, NDArray responseMask,
            double clipRange) {
        // TRL fills padded log-probabilities of both with one constant, so their difference is 0 there
        NDArray diff = logprobs.sub(oldLogprobs).mul(responseMask); // [B, T]
        NDArray ratio = diff.exp();
        NDArray clipped = ratio.maximum(constant(ratio, 1.0 - clipRange)).minimum(constant(ratio, 1.0 + clipRange));
        NDArray unclippedLoss = advantages.neg().mul(ratio);
        NDArray clippedLoss = advantages.neg().mul(clipped);
        NDArray loss = maskedMean(unclippedLoss.maximum(clippedLoss), responseMask);
        double clipFraction = maskedMean(clippedLoss.gt(unclippedLoss).toType(DataType.FLOAT32, false), responseMask)
                .getFloat();
        double approxKl = 0.5 * diff.square().mean().getFloat();
        return new Policy(loss, clipFraction, approxKl, ratio.mean().getFloat());
    }

    /**
     * @param values {@code [B, T]} V_θ at the positions predicting each response token (with gradient)
     * @param oldValues {@code [B, T]} {@link PpoTargets#values()}
     * @param returns {@code [B, T]} {@link PpoTargets#returns()}
     * @param valueMask {@code [B, T]} {@link PpoTargets#valueMask()} as 0/1 floats
     * @param clipRange ε_v ({@code cliprange_value})
     */
    public static Value value(NDArray values, NDArray oldValues, NDArray returns, NDArray valueMask, double clipRange) {
        NDArray predicted = values.mul(valueMask); // TRL zeroes predictions past t = L
        NDArray clipped = predicted.maximum(oldValues.sub(constant(values, clipRange)))
                .minimum(oldValues.add(constant(values, clipRange)));
        NDArray unclippedLoss = predicted.sub(returns).square();
        NDArray clippedLoss = clipped.sub(returns).square();
        NDArray loss = maskedMean(unclippedLoss.maximum(clippedLoss), valueMask).mul(constant(values, 0.5));
        double clipFraction = maskedMean(clippedLoss.gt(unclippedLoss).toType(DataType.FLOAT32, false), valueMask)
                .getFloat();
        return new Value(loss, clipFraction);
    }

    static NDArray maskedMean(NDArray x, NDArray mask) {
        return x.mul(mask).sum().div(mask.sum());
    }

    static NDArray constant(NDArray like, double v) {
        return like.getManager().full(new Shape(), (float) v, like.getDataType());
    }
}
