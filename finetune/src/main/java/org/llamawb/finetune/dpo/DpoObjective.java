package org.llamawb.finetune.dpo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.llamawb.adapters.LoraModel;
import org.llamawb.datasets.batch.PairBatch;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.finetune.remat.ForwardBackward;
import org.llamawb.finetune.remat.Rematerialization;
import org.llamawb.finetune.sft.CausalLmLoss;
import org.llamawb.finetune.train.MetricMeans;
import org.llamawb.finetune.train.NativeHeap;
import org.llamawb.finetune.train.PairMethod;
import org.llamawb.model.Llama;

/**
 * The DPO loss of a micro-batch of pairs and its gradients. The reference ({@link ReferenceModel}) is the
 * same base with the policy's adapter switched off, or with a frozen SFT adapter in its place (or
 * log-probabilities computed so before training), so only one copy of the weights is held. Chosen and rejected rows go through the policy in one concatenated forward pass
 * ({@code [2B, T]}); each pair's loss is a function of four sequence log-probabilities ({@link DpoLoss}),
 * so {@code dL/dz} is injected into the policy's two log-probabilities of each pair and back-propagated
 * once.
 */
public final class DpoObjective implements PairMethod.Objective {
    private final Llama model;
    private final ReferenceModel reference;
    private final DpoLoss loss;
    private final Rematerialization remat;
    private final NDManager manager;
    /** Reference log-probabilities by sequence (precompute_ref_log_probs); empty when not precomputed. */
    private final Map<Sequence, Double> precomputed = new HashMap<>();
    private final MetricMeans metrics = new MetricMeans();

    /** DPO against the base: {@code lora}'s adapters switched off; no rematerialisation. */
    public DpoObjective(Llama model, LoraModel lora, DpoLoss loss) {
        this(model, ReferenceModel.base(model, lora), loss, Rematerialization.NONE);
    }

    /** DPO against {@code reference}; no rematerialisation. */
    public DpoObjective(Llama model, ReferenceModel reference, DpoLoss loss) {
        this(model, reference, loss, Rematerialization.NONE);
    }

    /** @param remat what the policy's pass keeps for its backward ({@code train.rematerialization}) */
    public DpoObjective(Llama model, ReferenceModel reference, DpoLoss loss, Rematerialization remat) {
        this.model = model;
        this.reference = reference;
        this.loss = loss;
        this.remat = remat;
        this.manager = model.manager();
    }

    /**
     * The reference pass, then the policy's pass over the same rows under the recipe's rematerialisation policy,
     * with the log-probabilities and the loss as its head: {@code dL/dz} is known only once the pass has reached
     * its last block, and is injected there.
     */
    @Override
    public double lossAndBackward(PairBatch batch, double scale, long seed) {
        int b = batch.chosen().rows();
        int[][] ids = concat(batch.chosen().inputIds(), batch.rejected().inputIds()); // [2B, T]
        int[][] labels = concat(batch.chosen().labels(), batch.rejected().labels());
        double[] ref = reference(ids, labels);
        // the reference pass's freed temporaries would stay resident in the C heap under the policy's pass
        NativeHeap.trim();
        NDArray input = SequenceLogProbs.idsArray(ids, manager); // [2B, T]
        // the blocks reseed adapter dropout from seed, block by block
        return ForwardBackward.run(model, input, null, null, remat, seed, (last, leaf) -> {
            SequenceLogProbs policy = SequenceLogProbs.ofLast(model, last, labels, leaf, manager);
            Pairs p = pairs(policy, ref, b);
            float[] grad = new float[2 * b]; // d(scale · Σ L) / d(sequence log-probability)
            for (int i = 0; i < b; i++) {
                double dz = loss.derivative(p.z[i]) * scale;
                grad[i] = (float) (dz / p.norm[i]);
                grad[b + i] = (float) (-dz / p.norm[b + i]);
            }
            policy.backward(grad);
            metrics.add(metricsOf(p, policy, b));
            return p.lossSum;
        });
    }

    /**
     * The loss summed over the batch's pairs and TRL's metrics, without gradients (evaluation).
     *
     * @return {@code loss_sum} and the metrics
     */
    public Map<String, Double> evaluate(PairBatch batch) {
        int b = batch.chosen().rows();
        int[][] ids = concat(batch.chosen().inputIds(), batch.rejected().inputIds());
        int[][] labels = concat(batch.chosen().labels(), batch.rejected().labels());
        try (NDScope scope = new NDScope()) {
            double[] ref = reference(ids, labels);
            SequenceLogProbs policy = SequenceLogProbs.of(model, ids, labels, false, manager);
            Pairs p = pairs(policy, ref, b);
            Map<String, Double> out = new LinkedHashMap<>();
            out.put("loss_sum", p.lossSum);
            out.putAll(metricsOf(p, policy, b));
            return out;
        }
    }

    /** Computes and keeps the reference log-probabilities of the batch's sequences (before training). */
    public void precompute(PairBatch batch) {
        int[][] ids = concat(batch.chosen().inputIds(), batch.rejected().inputIds());
        int[][] labels = concat(batch.chosen().labels(), batch.rejected().labels());
        double[] ref = reference.logProbs(ids, labels);
        for (int row = 0; row < ids.length; row++) {
            precomputed.put(Sequence.of(ids[row], labels[row]), ref[row]);
        }
    }

    /** Sequences whose reference log-probability is precomputed. */
    public int precomputedSequences() {
        return precomputed.size();
    }

    /** TRL's metrics since the last call, averaged over micro-batches. */
    public Map<String, Double> takeMetrics() {
        return metrics.take();
    }

    @Override
    public MetricMeans metricMeans() {
        return metrics;
    }

    @Override
    public long units(PairBatch batch) {
        return batch.chosen().rows();
    }

    @Override
    public long tokens(PairBatch batch) {
        return 2L * batch.chosen().rows() * batch.chosen().length();
    }

    @Override
    public long trainedTokens(PairBatch batch) {
        return CausalLmLoss.trainedTokens(batch.chosen().labels()) + CausalLmLoss.trainedTokens(batch.rejected().labels());
    }

    /** The reference log-probabilities of every row: precomputed when all are, else a reference pass. */
    private double[] reference(int[][] ids, int[][] labels) {
        if (!precomputed.isEmpty()) {
            double[] out = new double[ids.length];
            boolean all = true;
            for (int i = 0; i < ids.length && all; i++) {
                Double v = precomputed.get(Sequence.of(ids[i], labels[i]));
                all = v != null;
                out[i] = all ? v : 0;
            }
            if (all) {
                return out;
            }
        }
        return reference.logProbs(ids, labels);
    }

    /** The four log-probabilities of every pair; the loss reads them divided by their token counts for ipo. */
    private Pairs pairs(SequenceLogProbs policy, double[] ref, int b) {
        double[] norm = new double[2 * b];
        for (int i = 0; i < 2 * b; i++) {
            norm[i] = loss.averagesLogProbs() ? Math.max(1, policy.counts()[i]) : 1;
        }
        double[] pol = policy.values();
        double[] z = new double[b];
        double sum = 0;
        for (int i = 0; i < b; i++) {
            z[i] = DpoLoss.logits(pol[i] / norm[i], pol[b + i] / norm[b + i], ref[i] / norm[i], ref[b + i] / norm[b + i]);
            sum += loss.loss(z[i]);
        }
        return new Pairs(pol, ref, norm, z, sum);
    }

    /**
     * One micro-batch's pairs: summed log-probabilities (chosen rows, then rejected), the loss's normalisers,
     * z and the loss sum.
     */
    private record Pairs(double[] policy, double[] ref, double[] norm, double[] z, double lossSum) {}

    /**
     * TRL's metrics of one micro-batch: means over its pairs of the implicit rewards {@code β·(log π − log π_ref)}
     * (summed log-probabilities, for ipo too), their margin and accuracy (chosen reward strictly above the
     * rejected one) and the policy's log-probabilities; token-pooled over the labelled positions: the mean
     * logit of the chosen (rejected) rows, the entropy over all rows, the top-1 accuracy on the chosen rows.
     */
    private Map<String, Double> metricsOf(Pairs p, SequenceLogProbs s, int b) {
        double chosen = 0;
        double rejected = 0;
        double accuracy = 0;
        double logpChosen = 0;
        double logpRejected = 0;
        double logitsChosen = 0;
        double logitsRejected = 0;
        double entropy = 0;
        double correct = 0;
        long countChosen = 0;
        long countRejected = 0;
        for (int i = 0; i < b; i++) {
            double rc = loss.reward(p.policy[i], p.ref[i]);
            double rr = loss.reward(p.policy[b + i], p.ref[b + i]);
            chosen += rc;
            rejected += rr;
            accuracy += rc > rr ? 1 : 0;
            logpChosen += p.policy[i];
            logpRejected += p.policy[b + i];
            logitsChosen += s.logitSums()[i];
            logitsRejected += s.logitSums()[b + i];
            entropy += s.entropySums()[i] + s.entropySums()[b + i];
            correct += s.correct()[i];
            countChosen += s.counts()[i];
            countRejected += s.counts()[b + i];
        }
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("rewards/chosen", chosen / b);
        m.put("rewards/rejected", rejected / b);
        m.put("rewards/accuracies", accuracy / b);
        m.put("rewards/margins", (chosen - rejected) / b);
        m.put("logps/chosen", logpChosen / b);
        m.put("logps/rejected", logpRejected / b);
        m.put("logits/chosen", logitsChosen / Math.max(1, countChosen));
        m.put("logits/rejected", logitsRejected / Math.max(1, countRejected));
        m.put("entropy", entropy / Math.max(1, countChosen + countRejected));
        m.put("mean_token_accuracy", correct / Math.max(1, countChosen));
        return m;
    }

    /** Rows {@code a} then rows {@code b}: the concatenated batch {@code [2B, T]}. */
    static int[][] concat(int[][] a, int[][] b) {
        int[][] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** A sequence's real tokens (up to its last labelled one: answers run to the end), the key of a precomputed value. */
    private record Sequence(int[] ids) {
        static Sequence of(int[] ids, int[] labels) {
            int end = labels.length;
            while (end > 0 && labels[end - 1] == TokenizedExample.IGNORE) {
                end--;
            }
            return new Sequence(Arrays.copyOf(ids, end));
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Sequence s && Arrays.equals(ids, s.ids);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(ids);
        }

        @Override
        public String toString() {
            return Arrays.toString(ids);
        }
    }
}
