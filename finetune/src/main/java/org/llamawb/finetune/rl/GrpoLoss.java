package org.llamawb.finetune.rl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * GRPO's per-token clipped objective with a KL penalty, as TRL 1.16's {@code GRPOTrainer._compute_loss} at
 * token-level importance sampling:
 * <pre>
 *   ρ_t = exp(log π_θ − log π_old)
 *   ℓ_t = −min(ρ_t·A, clip(ρ_t, 1 − ε_low, 1 + ε_high)·A) + β·KL3_t
 *   KL3_t = exp(log π_ref − log π_θ) − (log π_ref − log π_θ) − 1
 * </pre>
 * aggregated by {@link LossAggregation}. With a single update per generation batch {@code π_old = π_θ} (detached),
 * so {@code ρ = 1} and only the gradient of ρ remains.
 *
 * @param loss 0-d, differentiable
 * @param kl TRL's {@code kl}: masked mean of KL3 (NaN when β = 0, which TRL does not log)
 * @param clipRatioLow fraction of tokens with ρ &lt; 1 − ε_low and A &lt; 0 ({@code clip_ratio/low_mean})
 * @param clipRatioHigh fraction with ρ &gt; 1 + ε_high and A &gt; 0 ({@code clip_ratio/high_mean})
 * @param clipRatioRegion either ({@code clip_ratio/region_mean})
 */
public record GrpoLoss(NDArray loss, double kl, double clipRatioLow, double clipRatioHigh, double clipRatioRegion) {

    /**
     * The loss settings.
     *
     * @param epsilonLow ε_low ({@code epsilon})
     * @param epsilonHigh ε_high ({@code epsilon_high}; DAPO suggests 0.28)
     * @param beta β ({@code beta}); 0 skips the reference entirely
     * @param aggregation {@code loss_type}
     * @param maxCompletionLength {@code max_completion_length}, the constant of {@link LossAggregation#DR_GRPO}
     */
    public record Settings(double epsilonLow, double epsilonHigh, double beta, LossAggregation aggregation,
            int maxCompletionLength) {
        public Settings {
            if (!(epsilonLow >= 0 && epsilonLow < 1)) {
                throw new IllegalArgumentException("epsilon must be within [0, 1), got " + epsilonLow);
            }
            if (!(epsilonHigh >= 0) || Double.isInfinite(epsilonHigh)) {
                throw new IllegalArgumentException("epsilon_high must be a finite number >= 0, got " + epsilonHigh);
            }
            if (!(beta >= 0) || Double.isInfinite(beta)) {
                throw new IllegalArgumentException("beta must be a finite number >= 0, got " + beta);
            }
            if (aggregation == null) {
                throw new IllegalArgumentException("loss_type is required");
            }
            if (maxCompletionLength < 1) {
                throw new IllegalArgumentException("max_completion_length must be >= 1, got " + maxCompletionLength);
            }
        }
    }

    /**
     * @param logprobs {@code [N, T]} log π_θ of the completion tokens (with gradient)
     * @param oldLogprobs {@code [N, T]} log π at generation time
     * @param refLogprobs {@code [N, T]} log π_ref, or null when β = 0
     * @param advantages {@code [N]} {@link GroupAdvantages#advantages()}
     * @param mask {@code [N, T]} 1 for completion tokens, 0 for padding (float)
     * @param activeTokens for {@link LossAggregation#DAPO}: the completion tokens of the whole generation batch
     *        this micro-batch belongs to (the micro-batch's own count when it is the whole batch)
     */
    public static GrpoLoss compute(NDArray logprobs, NDArray oldLogprobs, NDArray refLogprobs, NDArray advantages,
            NDArray mask, double activeTokens, Settings s) {
        NDArray adv = advantages.reshape(-1, 1); // [N, 1], broadcast over tokens
        NDArray ratio = logprobs.sub(oldLogprobs).exp(); // [N, T]
        NDArray clipped = ratio.maximum(PpoLoss.constant(ratio, 1 - s.epsilonLow()))
                .minimum(PpoLoss.constant(ratio, 1 + s.epsilonHigh()));
        NDArray perToken = ratio.mul(adv).minimum(clipped.mul(adv)).neg();
        double kl = Double.NaN;
        if (s.beta() != 0.0) {
            if (refLogprobs == null) {
                throw new IllegalArgumentException("beta > 0 needs the reference log-probabilities");
            }
            NDArray perTokenKl = KlEstimator.K3.of(logprobs, refLogprobs);
            perToken = perToken.add(perTokenKl.mul(PpoLoss.constant(perTokenKl, s.beta())));
            kl = PpoLoss.maskedMean(perTokenKl, mask).getFloat();
        }
        NDArray masked = perToken.mul(mask);
        NDArray one = PpoLoss.constant(mask, 1.0);
        NDArray loss = switch (s.aggregation()) {
            case DAPO -> masked.sum().div(PpoLoss.constant(mask, Math.max(1.0, activeTokens)));
            case BNPO -> masked.sum().div(mask.sum().maximum(one));
            case GRPO -> masked.sum(new int[] {1}).div(mask.sum(new int[] {1}).maximum(one)).mean();
            case DR_GRPO -> masked.sum().div(PpoLoss.constant(mask,
                    (double) mask.getShape().get(0) * s.maxCompletionLength()));
        };
        NDArray zero = PpoLoss.constant(adv, 0.0);
        NDArray low = ratio.lt(PpoLoss.constant(ratio, 1 - s.epsilonLow())).logicalAnd(adv.lt(zero));
        NDArray high = ratio.gt(PpoLoss.constant(ratio, 1 + s.epsilonHigh())).logicalAnd(adv.gt(zero));
        return new GrpoLoss(loss, kl, fraction(low, mask), fraction(high, mask), fraction(low.logicalOr(high), mask));
    }

    private static double fraction(NDArray flags, NDArray mask) {
        return PpoLoss.maskedMean(flags.toType(DataType.FLOAT32, false), mask).getFloat();
    }
}
