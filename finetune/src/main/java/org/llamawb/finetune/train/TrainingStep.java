package org.llamawb.finetune.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.util.Collection;
import java.util.List;
import java.util.function.IntPredicate;
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
     * What a share of a step's micro-batches added up to: the summed (unscaled) loss and the counts the loss is
     * normalised by. Data-parallel workers each return theirs, and the sums of all of them are the step's.
     *
     * @param lossSum {@code Σ loss} over the trained units of the micro-batches run
     * @param tokens every token of the micro-batches counted
     * @param units trained units of the micro-batches counted
     * @param trainedTokens labelled tokens of the micro-batches counted
     */
    public record Sums(double lossSum, long tokens, long units, long trainedTokens) {
        public static final Sums ZERO = new Sums(0, 0, 0, 0);

        public Sums plus(Sums o) {
            return new Sums(lossSum + o.lossSum, tokens + o.tokens, units + o.units, trainedTokens + o.trainedTokens);
        }
    }

    /**
     * One optimiser step over {@code micro}: {@link #accumulate} every micro-batch with its loss scaled by
     * {@code 1 / units} of the whole step, then {@link #apply}.
     *
     * @param seedBase the seed of micro-batch {@code i} is {@code seedBase + i}
     * @param maxGradNorm global-norm clipping threshold (0 = off)
     */
    public static <B> Outcome run(List<B> micro, Loss<B> method, Collection<NDArray> params, AdamW optimizer, double lr,
            double maxGradNorm, long seedBase) {
        long units = 0;
        for (B b : micro) {
            units += method.units(b);
        }
        optimizer.zeroGradients();
        Sums sums = accumulate(micro, method, i -> true, 1.0 / Math.max(1, units), seedBase);
        return apply(sums, params, optimizer, lr, maxGradNorm);
    }

    /**
     * Forward and backward of the micro-batches {@code i} of {@code micro} that {@code take} accepts, adding the
     * gradients of {@code scale · Σ loss} to those the trainable tensors already hold (nothing is zeroed).
     * A data-parallel worker takes its share of a step this way, with the micro-batch's position in the whole
     * step as {@code i}, so its dropout seed is the one a single process would use.
     *
     * @param seedBase the seed of micro-batch {@code i} is {@code seedBase + i}
     * @return the summed loss and counts of the micro-batches taken
     */
    public static <B> Sums accumulate(List<B> micro, Loss<B> method, IntPredicate take, double scale, long seedBase) {
        Sums sums = Sums.ZERO;
        for (int i = 0; i < micro.size(); i++) {
            if (!take.test(i)) {
                continue;
            }
            B b = micro.get(i);
            double lossSum = 0;
            if (method.units(b) != 0) {
                try (NDScope scope = new NDScope()) {
                    lossSum = method.lossAndBackward(b, scale, seedBase + i);
                }
            }
            sums = sums.plus(new Sums(lossSum, method.tokens(b), method.units(b), method.trainedTokens(b)));
        }
        return sums;
    }

    /**
     * The update once the trainable tensors hold the gradient of the step's mean loss ({@code Σ loss / units}):
     * clip by the global norm, then step the optimiser, unless the loss or the norm is NaN or infinite.
     *
     * @param sums the whole step's sums
     * @param maxGradNorm global-norm clipping threshold (0 = off)
     */
    public static Outcome apply(Sums sums, Collection<NDArray> params, AdamW optimizer, double lr, double maxGradNorm) {
        double loss = sums.units() == 0 ? Double.NaN : sums.lossSum() / sums.units();
        double gradNorm = Double.isFinite(loss) ? GradientClipping.clip(params, maxGradNorm) : Double.NaN;
        Outcome out = new Outcome(loss, gradNorm, sums.tokens(), sums.units(), sums.trainedTokens());
        if (out.applied()) {
            optimizer.step(lr);
        }
        return out;
    }
}
