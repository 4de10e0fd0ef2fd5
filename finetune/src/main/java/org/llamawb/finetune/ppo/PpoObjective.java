package org.llamawb.finetune.ppo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.LinkedHashMap;
import java.util.Map;
import org.llamawb.finetune.dpo.SequenceLogProbs;
import org.llamawb.finetune.online.Rollouts;
import org.llamawb.finetune.recipe.PpoSection;
import org.llamawb.finetune.remat.ForwardBackward;
import org.llamawb.finetune.remat.Rematerialization;
import org.llamawb.finetune.rl.PpoLoss;
import org.llamawb.finetune.train.MetricMeans;
import org.llamawb.finetune.train.TrainingStep;
import org.llamawb.model.Llama;

/**
 * PPO's loss of a micro-batch, {@code L_π + vf_coef · L_V} ({@link PpoLoss}), from one policy pass (the policy
 * adapter) and one critic pass (the critic adapter) over the same rows, with the gradients of their sum, as TRL's
 * PolicyAndValueWrapper back-propagates it. Both losses are means over the micro-batch; the trainer scales each micro-batch by
 * {@code 1 / (rows of the step)}, so it is weighted by its rows (TRL divides by the accumulation steps).
 */
final class PpoObjective implements TrainingStep.Loss<PpoBatch> {
    private final Llama model;
    private final Critic critic;
    private final PpoSection ppo;
    private final MetricMeans metrics;
    private final Rematerialization remat;

    /**
     * @param metrics where each micro-batch's loss statistics are added (the method's accumulator)
     * @param remat what each training pass keeps for its backward ({@code train.rematerialization})
     */
    PpoObjective(Llama model, Critic critic, PpoSection ppo, MetricMeans metrics, Rematerialization remat) {
        this.model = model;
        this.critic = critic;
        this.ppo = ppo;
        this.metrics = metrics;
        this.remat = remat;
    }

    /**
     * The policy's pass, then the critic's, each under the recipe's rematerialisation policy with its own loss as its
     * head. {@code L_π} reads only the policy adapter's graph and {@code L_V} only the critic's, so back-propagating
     * each after its own pass gives the gradients of back-propagating their sum once.
     */
    @Override
    public double lossAndBackward(PpoBatch b, double scale, long seed) {
        NDManager m = model.manager();
        Shape shape = new Shape(b.rows(), b.width());
        NDArray input = SequenceLogProbs.idsArray(b.ids(), m); // [N, T]
        // 0-d constants, not Java numbers: scalar operands can corrupt gradients (djl-notes)
        NDArray weight = m.full(new Shape(), (float) (b.rows() * scale), DataType.FLOAT32);
        NDArray vfCoef = m.full(new Shape(), ppo.vfCoef().floatValue(), DataType.FLOAT32);
        PpoLoss.Policy[] p = new PpoLoss.Policy[1];
        PpoLoss.Value[] v = new PpoLoss.Value[1];
        // only response columns reach the LM head; the policy loss multiplies the log-ratio by the response
        // mask first, so zeros in the columns before them give exactly what their log-probabilities gave
        int from = Math.min(Rollouts.firstMaskedColumn(b.responseMask(), b.rows(), b.width()), b.width() - 1);
        // the blocks reseed adapter dropout from seed, block by block; the critic's pass from another seed
        ForwardBackward.run(model, input, null, null, remat, seed, (last, leaf) -> {
            // the response tokens' log-probabilities, no [N, T, V] log-softmax under autograd; 0 elsewhere
            Rollouts.Selected selected = Rollouts.selected(model, last, leaf, b.ids(), b.responseMask(), from,
                    ppo.temperature(), m);
            NDArray logprobs = selected.logprobs(); // [N, T - from]
            if (from > 0) {
                logprobs = m.zeros(new Shape(b.rows(), from)).concat(logprobs, 1); // [N, T]
            }
            p[0] = PpoLoss.policy(logprobs, m.create(b.oldLogprobs(), shape), m.create(b.advantages(), shape),
                    m.create(b.responseMask(), shape), ppo.cliprange());
            backward(p[0].loss().mul(weight));
            selected.backward(); // the loss's gradient per token, through the LM head into the pass
            return 0;
        });
        critic.active(() -> ForwardBackward.run(model, input, null, null, remat, ~seed, (last, leaf) -> {
            NDArray values = critic.valuesFrom(model.norm().forward(last)); // [N, T]
            v[0] = PpoLoss.value(values, m.create(b.oldValues(), shape), m.create(b.returns(), shape),
                    m.create(b.valueMask(), shape), ppo.cliprangeValue());
            backward(v[0].loss().mul(vfCoef).mul(weight));
            return 0;
        }));
        NDArray loss = p[0].loss().add(v[0].loss().mul(vfCoef)); // L_π + vf_coef · L_V
        Map<String, Double> one = new LinkedHashMap<>();
        one.put("policy/approxkl_avg", p[0].approxKl());
        one.put("policy/clipfrac_avg", p[0].clipFraction());
        one.put("loss/policy_avg", (double) p[0].loss().getFloat());
        one.put("loss/value_avg", (double) v[0].loss().getFloat());
        one.put("val/clipfrac_avg", v[0].clipFraction());
        one.put("val/ratio", p[0].ratioMean());
        metrics.add(one);
        return loss.getFloat() * (double) b.rows();
    }

    /** Back-propagates the 0-d {@code loss} inside the running pass's collector. */
    private static void backward(NDArray loss) {
        JniUtils.backward((PtNDArray) loss, (PtNDArray) loss.onesLike(), false, false);
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
