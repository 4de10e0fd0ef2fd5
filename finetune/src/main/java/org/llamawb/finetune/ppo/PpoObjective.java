package org.llamawb.finetune.ppo;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import java.util.LinkedHashMap;
import java.util.Map;
import org.llamawb.finetune.online.Rollouts;
import org.llamawb.finetune.recipe.PpoSection;
import org.llamawb.finetune.rl.PpoLoss;
import org.llamawb.finetune.train.MetricMeans;
import org.llamawb.finetune.train.TrainingStep;
import org.llamawb.model.Llama;

/**
 * PPO's loss of a micro-batch, {@code L_π + vf_coef · L_V} ({@link PpoLoss}), from one policy pass (the policy
 * adapter) and one critic pass (the critic adapter) over the same rows, back-propagated together as TRL's
 * PolicyAndValueWrapper does. Both losses are means over the micro-batch; the trainer scales each micro-batch by
 * {@code 1 / (rows of the step)}, so it is weighted by its rows (TRL divides by the accumulation steps).
 */
final class PpoObjective implements TrainingStep.Loss<PpoBatch> {
    private final Llama model;
    private final Critic critic;
    private final PpoSection ppo;
    private final MetricMeans metrics;

    /** @param metrics where each micro-batch's loss statistics are added (the method's accumulator) */
    PpoObjective(Llama model, Critic critic, PpoSection ppo, MetricMeans metrics) {
        this.model = model;
        this.critic = critic;
        this.ppo = ppo;
        this.metrics = metrics;
    }

    @Override
    public double lossAndBackward(PpoBatch b, double scale, long seed) {
        NDManager m = model.manager();
        Shape shape = new Shape(b.rows(), b.width());
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            JniUtils.setSeed(seed); // adapter dropout
            // only response columns reach the LM head; the policy loss multiplies the log-ratio by the response
            // mask first, so zeros in the columns before them give exactly what their log-probabilities gave
            int from = Math.min(Rollouts.firstMaskedColumn(b.responseMask(), b.rows(), b.width()), b.width() - 1);
            NDArray logprobs = Rollouts.tokenLogprobs(model, b.ids(), from, ppo.temperature(), true, m); // [N, T - from]
            if (from > 0) {
                logprobs = m.zeros(new Shape(b.rows(), from)).concat(logprobs, 1); // [N, T]
            }
            NDArray values = critic.values(b.ids(), true); // [N, T]
            PpoLoss.Policy p = PpoLoss.policy(logprobs, m.create(b.oldLogprobs(), shape), m.create(b.advantages(), shape),
                    m.create(b.responseMask(), shape), ppo.cliprange());
            PpoLoss.Value v = PpoLoss.value(values, m.create(b.oldValues(), shape), m.create(b.returns(), shape),
                    m.create(b.valueMask(), shape), ppo.cliprangeValue());
            // 0-d constants, not Java numbers: scalar operands can corrupt gradients (djl-notes)
            NDArray loss = p.loss().add(v.loss().mul(m.full(new Shape(), ppo.vfCoef().floatValue(), DataType.FLOAT32)));
            gc.backward(loss.mul(m.full(new Shape(), (float) (b.rows() * scale), DataType.FLOAT32)));
            Map<String, Double> one = new LinkedHashMap<>();
            one.put("policy/approxkl_avg", p.approxKl());
            one.put("policy/clipfrac_avg", p.clipFraction());
            one.put("loss/policy_avg", (double) p.loss().getFloat());
            one.put("loss/value_avg", (double) v.loss().getFloat());
            one.put("val/clipfrac_avg", v.clipFraction());
            one.put("val/ratio", p.ratioMean());
            metrics.add(one);
            return loss.getFloat() * (double) b.rows();
        }
    }

    /** Completions: what the step's loss is averaged over. */
    @Override
    public long units(PpoBatch b) {
        return b.rows();
    }

    @Override
    public long tokens(PpoBatch b) {
        return (long) b.rows() * b.width();
    }

    @Override
    public long trainedTokens(PpoBatch b) {
        return b.completionTokens();
    }

}
