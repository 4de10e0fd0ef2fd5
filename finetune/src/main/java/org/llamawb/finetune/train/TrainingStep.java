package org.llamawb.finetune.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.util.Collection;
import java.util.List;
import org.llamawb.finetune.optim.AdamW;
import org.llamawb.finetune.optim.GradientClipping;

/**
 * The one optimiser step every method and {@code bench train} take: zero the gradients, forward and
 * backward each micro-batch with its loss divided by the trained units of the whole step (so gradient
 * accumulation equals one large batch), clip by the global norm, then update, unless the loss or the
 * norm is NaN or infinite, in which case the parameters are left as they were.
 */
public final class TrainingStep {
    private TrainingStep() {}

    /**
     * How a method turns one micro-batch into a loss and its gradients.
     *
     * @param <B> the method's micro-batch
     */
    public interface Loss<B> {
        /**
         * Runs forward and backward on {@code batch}, accumulating the gradients of
         * {@code scale · Σ loss} into every trainable tensor, and returns {@code Σ loss} (the sum over the
         * batch's trained units, unscaled). Called inside the step's {@code NDScope}.
         *
         * @param seed dropout seed, a function of the position in training only
         */
        double lossAndBackward(B batch, double scale, long seed);

        /** What the loss is averaged over: trained tokens (SFT), pairs (DPO), examples (KTO). */
        long units(B batch);

        /** Every token of the batch, padding included (for throughput). */
        long tokens(B batch);

        /** Tokens whose prediction the loss reads (labelled tokens; {@code num_tokens} counts these). */
        long trainedTokens(B batch);
    }

    /**
     * What a step did.
     *
     * @param loss the step's mean loss per trained unit (NaN when nothing was trained)
     * @param gradNorm the global gradient norm before clipping (NaN when the loss was not finite)
     * @param tokens every token of the step's micro-batches
     * @param units trained units of the step
     * @param trainedTokens labelled tokens of the step
     */
    public record Outcome(double loss, double gradNorm, long tokens, long units, long trainedTokens) {
        /** False when the update was skipped for a NaN or infinite loss or gradient. */
        public boolean applied() {
            return Double.isFinite(loss) && Double.isFinite(gradNorm);
        }
    }

    /**
     * One optimiser step over {@code micro}.
     *
     * @param seedBase the seed of micro-batch {@code i} is {@code seedBase + i}
     * @param maxGradNorm global-norm clipping threshold (0 = off)
     */
    public static <B> Outcome run(List<B> micro, Loss<B> method, Collection<NDArray> params, AdamW optimizer, double lr,
            double maxGradNorm, long seedBase) {
        long tokens = 0;
        long units = 0;
        long trained = 0;
        for (B b : micro) {
            tokens += method.tokens(b);
            units += method.units(b);
            trained += method.trainedTokens(b);
        }
        optimizer.zeroGradients();
        double lossSum = 0;
        for (int i = 0; i < micro.size(); i++) {
            B b = micro.get(i);
            if (method.units(b) == 0) {
                continue;
            }
            try (NDScope scope = new NDScope()) {
                lossSum += method.lossAndBackward(b, 1.0 / Math.max(1, units), seedBase + i);
            }
        }
        double loss = units == 0 ? Double.NaN : lossSum / units;
        double gradNorm = Double.isFinite(loss) ? GradientClipping.clip(params, maxGradNorm) : Double.NaN;
        Outcome out = new Outcome(loss, gradNorm, tokens, units, trained);
        if (out.applied()) {
            optimizer.step(lr);
        }
        return out;
    }
}
