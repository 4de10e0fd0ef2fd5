package org.llamawb.finetune.grpo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.LinkedHashMap;
import java.util.Map;
import org.llamawb.finetune.dpo.SequenceLogProbs;
import org.llamawb.finetune.online.Rollouts;
import org.llamawb.finetune.remat.ForwardBackward;
import org.llamawb.finetune.remat.Rematerialization;
import org.llamawb.finetune.rl.GrpoLoss;
import org.llamawb.finetune.rl.LossAggregation;
import org.llamawb.finetune.train.MetricMeans;
import org.llamawb.finetune.train.TrainingStep;
import org.llamawb.model.Llama;

/**
 * GRPO's loss of a micro-batch of completions and its gradients ({@link GrpoLoss} on the policy's per-token
 * log-probabilities). The trainer scales every micro-batch by {@code 1 / (rows of the step)}; for
 * {@link LossAggregation#DAPO} the loss is already normalised by the completion tokens of the whole generation batch
 * (one optimiser step), so that scale is undone and the step's loss is TRL's; the other aggregations are means over
 * the micro-batch, weighted by its rows (TRL divides them by the accumulation steps).
 */
final class GrpoObjective implements TrainingStep.Loss<GrpoBatch> {
    private final Llama model;
    private final GrpoLoss.Settings settings;
    private final double temperature;
    private final MetricMeans metrics;
    private final Rematerialization remat;

    /** @param metrics where each micro-batch's loss statistics are added (the method's accumulator) */
    GrpoObjective(Llama model, GrpoLoss.Settings settings, double temperature, MetricMeans metrics) {
        this(model, settings, temperature, metrics, Rematerialization.NONE);
    }

    /**
     * @param metrics where each micro-batch's loss statistics are added (the method's accumulator)
     * @param remat what the policy's pass keeps for its backward ({@code train.rematerialization})
     */
    GrpoObjective(Llama model, GrpoLoss.Settings settings, double temperature, MetricMeans metrics,
            Rematerialization remat) {
        this.model = model;
        this.settings = settings;
        this.temperature = temperature;
        this.metrics = metrics;
        this.remat = remat;
    }

    /** The policy's pass under the recipe's rematerialisation policy, with the log-probabilities and the loss as its head. */
    @Override
    public double lossAndBackward(GrpoBatch b, double scale, long seed) {
        NDManager m = model.manager();
        Shape shape = new Shape(b.rows(), b.width());
        double weight = settings.aggregation() == LossAggregation.DAPO ? 1.0 / scale : b.rows();
        // every term of the loss is masked: the columns before the first completion token are left out whole
        int from = Math.min(Rollouts.firstMaskedColumn(b.mask(), b.rows(), b.width()), b.width() - 1);
        NDArray input = SequenceLogProbs.idsArray(b.ids(), m); // [N, T]
        // the blocks reseed adapter dropout from seed, block by block
        return ForwardBackward.run(model, input, null, null, remat, seed, (last, leaf) -> {
            // the masked tokens' log-probabilities, no [N, T, V] log-softmax under autograd; 0 where unmasked
            Rollouts.Selected selected = Rollouts.selected(model, last, leaf, b.ids(), b.mask(), from, temperature, m);
            NDArray logprobs = selected.logprobs(); // [N, T - from]
            NDArray mask = columns(b.mask(), shape, from);
            // the old and reference values are 0 where unmasked too, so those terms stay finite (and masked out)
            NDArray old = b.oldLogprobs() == null ? logprobs.stopGradient()
                    : columns(b.oldLogprobs(), shape, from).mul(mask);
            NDArray ref = b.refLogprobs() == null ? null : columns(b.refLogprobs(), shape, from).mul(mask);
            GrpoLoss l = GrpoLoss.compute(logprobs, old, ref, m.create(b.advantages()), mask, b.stepCompletionTokens(),
                    settings);
            NDArray scaled = l.loss().mul(m.full(new Shape(), (float) (weight * scale), DataType.FLOAT32));
            JniUtils.backward((PtNDArray) scaled, (PtNDArray) scaled.onesLike(), false, false);
            selected.backward(); // the loss's gradient per token, through the LM head into the pass
            Map<String, Double> one = new LinkedHashMap<>();
            if (!Double.isNaN(l.kl())) {
                one.put("kl", l.kl());
            }
            one.put("clip_ratio/low_mean", l.clipRatioLow());
            one.put("clip_ratio/high_mean", l.clipRatioHigh());
            one.put("clip_ratio/region_mean", l.clipRatioRegion());
            metrics.add(one);
            return l.loss().getFloat() * weight;
        });
    }

    /** Columns {@code from..} of a flat {@code [N, T]} array: {@code [N, T - from]}. */
    private NDArray columns(float[] flat, Shape shape, int from) {
        NDArray a = model.manager().create(flat, shape);
        return from == 0 ? a : a.get(new NDIndex(":, {}:", from));
    }

    /** Completions: what the step's loss is averaged over. */
    @Override
    public long units(GrpoBatch b) {
        return b.rows();
    }

    @Override
    public long tokens(GrpoBatch b) {
        return (long) b.rows() * b.width();
    }

    @Override
    public long trainedTokens(GrpoBatch b) {
        return b.completionTokens();
    }
}
