package org.llamawb.finetune.kto;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.jni.JniUtils;
import java.util.LinkedHashMap;
import java.util.Map;
import org.llamawb.adapters.LoraModel;
import org.llamawb.finetune.dpo.SequenceLogProbs;
import org.llamawb.finetune.remat.ForwardBackward;
import org.llamawb.finetune.remat.Rematerialization;
import org.llamawb.finetune.sft.CausalLmLoss;
import org.llamawb.finetune.train.MetricMeans;
import org.llamawb.finetune.train.NativeHeap;
import org.llamawb.finetune.train.TrainingStep;
import org.llamawb.model.Llama;

/**
 * The KTO loss of a micro-batch and its gradients ({@link KtoLoss}). The reference is the base with the
 * policy's adapter switched off; the KL estimate comes from the mismatched rows, policy and reference,
 * without gradient; each example's {@code dL/dΔ} is injected into its policy log-probability and
 * back-propagated once.
 */
public final class KtoObjective implements TrainingStep.Loss<KtoBatch> {
    private final Llama model;
    private final LoraModel lora;
    private final KtoLoss loss;
    private final Rematerialization remat;
    private final NDManager manager;
    private final MetricMeans metrics = new MetricMeans();

    /** No rematerialisation. */
    public KtoObjective(Llama model, LoraModel lora, KtoLoss loss) {
        this(model, lora, loss, Rematerialization.NONE);
    }

    /** @param remat what the policy's pass keeps for its backward ({@code train.rematerialization}) */
    public KtoObjective(Llama model, LoraModel lora, KtoLoss loss, Rematerialization remat) {
        this.model = model;
        this.lora = lora;
        this.loss = loss;
        this.remat = remat;
        this.manager = model.manager();
    }

    @Override
    public double lossAndBackward(KtoBatch batch, double scale, long seed) {
        int n = batch.rows();
        double[] ref = base(batch.ids(), batch.labels());
        // adapter dropout, from here: the KL pass runs the policy in training mode too, and a mask drawn from
        // whatever the generator held before would make the step depend on the process's history (a resumed
        // run would differ from an uninterrupted one)
        JniUtils.setSeed(seed);
        double kl = kl(batch);
        // the reference and KL passes' freed temporaries would stay resident in the C heap under the policy's pass
        NativeHeap.trim();
        // the policy's pass under the recipe's rematerialisation policy, the log-probabilities and the loss its head;
        // the blocks reseed dropout from seed, block by block
        NDArray input = SequenceLogProbs.idsArray(batch.ids(), manager); // [N, T]
        return ForwardBackward.run(model, input, null, null, remat, seed, (last, leaf) -> {
            SequenceLogProbs policy = SequenceLogProbs.ofLast(model, last, batch.labels(), leaf, manager);
            float[] grad = new float[n];
            double sum = 0;
            for (int i = 0; i < n; i++) {
                double ratio = policy.values()[i] - ref[i];
                sum += loss.loss(ratio, kl, batch.desirable()[i]);
                grad[i] = (float) (scale * loss.derivative(ratio, kl, batch.desirable()[i]));
            }
            policy.backward(grad);
            metrics.add(metricsOf(batch, policy, ref, kl));
            return sum;
        });
    }

    /** The loss summed over the batch and TRL's metrics, without gradients (evaluation). */
    public Map<String, Double> evaluate(KtoBatch batch) {
        try (NDScope scope = new NDScope()) {
            double[] ref = base(batch.ids(), batch.labels());
            double kl = kl(batch);
            SequenceLogProbs policy = SequenceLogProbs.of(model, batch.ids(), batch.labels(), false, manager);
            double sum = 0;
            for (int i = 0; i < batch.rows(); i++) {
                sum += loss.loss(policy.values()[i] - ref[i], kl, batch.desirable()[i]);
            }
            Map<String, Double> out = new LinkedHashMap<>();
            out.put("loss_sum", sum);
            out.putAll(metricsOf(batch, policy, ref, kl));
            return out;
        }
    }

    /** TRL's metrics since the last call, averaged over micro-batches. */
    public Map<String, Double> takeMetrics() {
        return metrics.take();
    }

    /** The accumulator behind {@link #takeMetrics} (kept in checkpoints). */
    public MetricMeans metricMeans() {
        return metrics;
    }

    /** The KL estimate of the batch: policy and reference on the mismatched rows, no gradient. */
    private double kl(KtoBatch batch) {
        double[] refKl = base(batch.klIds(), batch.klLabels());
        double[] policyKl;
        try (NDScope scope = new NDScope()) {
            policyKl = SequenceLogProbs.values(model, batch.klIds(), batch.klLabels(), manager);
        }
        return KtoLoss.kl(policyKl, refKl);
    }

    private double[] base(int[][] ids, int[][] labels) {
        try (NDScope scope = new NDScope()) {
            return lora.withAdaptersDisabled(() -> SequenceLogProbs.values(model, ids, labels, manager));
        }
    }

    /**
     * TRL's KTO metrics: {@code kl}; per label, the mean implicit reward {@code β·Δ} and policy
     * log-probability, and the token-pooled mean logit; their reward margin; the token-pooled entropy of
     * every row. A label absent from the batch has no metrics.
     */
    private Map<String, Double> metricsOf(KtoBatch batch, SequenceLogProbs s, double[] ref, double kl) {
        double[] reward = new double[2]; // [undesirable, desirable]
        double[] logps = new double[2];
        double[] logits = new double[2];
        long[] tokens = new long[2];
        int[] count = new int[2];
        double entropy = 0;
        long allTokens = 0;
        for (int i = 0; i < batch.rows(); i++) {
            int k = batch.desirable()[i] ? 1 : 0;
            reward[k] += loss.beta() * (s.values()[i] - ref[i]);
            logps[k] += s.values()[i];
            logits[k] += s.logitSums()[i];
            tokens[k] += s.counts()[i];
            count[k]++;
            entropy += s.entropySums()[i];
            allTokens += s.counts()[i];
        }
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("kl", kl);
        if (count[1] > 0) {
            m.put("rewards/chosen", reward[1] / count[1]);
            m.put("logps/chosen", logps[1] / count[1]);
            m.put("logits/chosen", logits[1] / Math.max(1, tokens[1]));
        }
        if (count[0] > 0) {
            m.put("rewards/rejected", reward[0] / count[0]);
            m.put("logps/rejected", logps[0] / count[0]);
            m.put("logits/rejected", logits[0] / Math.max(1, tokens[0]));
        }
        if (count[0] > 0 && count[1] > 0) {
            m.put("rewards/margins", reward[1] / count[1] - reward[0] / count[0]);
        }
        m.put("entropy", entropy / Math.max(1, allTokens));
        return m;
    }

    @Override
    public long units(KtoBatch batch) {
        return batch.rows();
    }

    @Override
    public long tokens(KtoBatch batch) {
        return (long) batch.rows() * (batch.ids()[0].length + batch.klIds()[0].length);
    }

    @Override
    public long trainedTokens(KtoBatch batch) {
        return CausalLmLoss.trainedTokens(batch.labels());
    }
}
