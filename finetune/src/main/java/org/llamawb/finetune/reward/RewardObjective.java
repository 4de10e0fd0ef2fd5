package org.llamawb.finetune.reward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.LinkedHashMap;
import java.util.Map;
import org.llamawb.adapters.score.RewardLoss;
import org.llamawb.adapters.score.RewardModel;
import org.llamawb.datasets.batch.Batch;
import org.llamawb.datasets.batch.PairBatch;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.finetune.remat.ForwardBackward;
import org.llamawb.finetune.remat.Rematerialization;
import org.llamawb.finetune.sft.CausalLmLoss;
import org.llamawb.finetune.train.MetricMeans;
import org.llamawb.finetune.train.PairMethod;
import org.llamawb.model.Llama;

/**
 * The reward-model loss of a micro-batch of pairs and its gradients: chosen and rejected rows go through the
 * model in one concatenated pass ({@code [2B, T]}), each row is scored at its last token (the answer runs to
 * the end of the row, so that is its last labelled token), and {@link RewardLoss} ({@code −log σ(r_c − r_r)})
 * is back-propagated into the adapter and the head. The pair readers carry no margin column, so no margin
 * is subtracted.
 */
public final class RewardObjective implements PairMethod.Objective {
    private final RewardModel reward;
    private final Rematerialization remat;
    private final NDManager manager;
    private final MetricMeans metrics = new MetricMeans();

    /** No rematerialisation. */
    public RewardObjective(RewardModel reward) {
        this(reward, Rematerialization.NONE);
    }

    /** @param remat what the training pass keeps for its backward ({@code train.rematerialization}) */
    public RewardObjective(RewardModel reward, Rematerialization remat) {
        this.reward = reward;
        this.remat = remat;
        this.manager = reward.lora().model().manager();
    }

    /**
     * The pass over the concatenated rows under the recipe's rematerialisation policy, with the rewards and the loss as
     * its head.
     */
    @Override
    public double lossAndBackward(PairBatch batch, double scale, long seed) {
        int b = batch.chosen().rows();
        Rows rows = rows(batch);
        Llama model = reward.lora().model();
        // the blocks reseed adapter dropout from seed, block by block
        return ForwardBackward.run(model, rows.ids, null, null, remat, seed, (last, leaf) -> {
            NDArray r = reward.scoresFrom(model.norm().forward(last), rows.rows, rows.ends); // [2B]: chosen, then rejected
            NDArray loss = RewardLoss.loss(r.get("0:{}", b), r.get("{}:", b), null); // mean over the B pairs
            // a 0-d tensor, not a Java number: scalar operands can corrupt gradients (djl-notes)
            NDArray scaled = loss.mul(manager.full(new Shape(), (float) (scale * b), DataType.FLOAT32));
            JniUtils.backward((PtNDArray) scaled, (PtNDArray) scaled.onesLike(), false, false);
            metrics.add(metricsOf(r.toFloatArray(), b));
            return loss.getFloat() * (double) b;
        });
    }

    /**
     * The loss summed over the batch's pairs and the metrics, without gradients (evaluation).
     *
     * @return {@code loss_sum} and the metrics
     */
    public Map<String, Double> evaluate(PairBatch batch) {
        int b = batch.chosen().rows();
        try (NDScope scope = new NDScope()) {
            NDArray r = rewards(batch);
            double loss = RewardLoss.loss(r.get("0:{}", b), r.get("{}:", b), null).getFloat() * (double) b;
            Map<String, Double> out = new LinkedHashMap<>();
            out.put("loss_sum", loss);
            out.putAll(metricsOf(r.toFloatArray(), b));
            return out;
        }
    }

    /** The metrics since the last call, averaged over micro-batches. */
    public Map<String, Double> takeMetrics() {
        return metrics.take();
    }

    @Override
    public MetricMeans metricMeans() {
        return metrics;
    }

    /** The rewards of the chosen rows then the rejected rows, {@code [2B]}, from one forward pass without gradients. */
    private NDArray rewards(PairBatch batch) {
        Rows rows = rows(batch);
        return reward.scoresAt(rows.ids, null, null, rows.rows, rows.ends, false);
    }

    /** The chosen rows then the rejected rows as one {@code [2B, T]} batch, and where each is scored. */
    private record Rows(NDArray ids, int[] rows, int[] ends) {}

    private Rows rows(PairBatch batch) {
        Batch c = batch.chosen();
        Batch r = batch.rejected();
        int b = c.rows();
        int t = c.length();
        long[] ids = new long[2 * b * t];
        int[] rows = new int[2 * b];
        int[] ends = new int[2 * b];
        for (int i = 0; i < 2 * b; i++) {
            Batch from = i < b ? c : r;
            int row = i < b ? i : i - b;
            for (int j = 0; j < t; j++) {
                ids[i * t + j] = from.inputIds()[row][j];
            }
            rows[i] = i;
            ends[i] = lastLabelled(from.labels()[row]);
        }
        return new Rows(manager.create(ids, new Shape(2L * b, t)), rows, ends); // [2B, T]
    }

    /** The row's last trained position: its answer's last token, where the sequence ends. */
    static int lastLabelled(int[] labels) {
        for (int j = labels.length - 1; j >= 0; j--) {
            if (labels[j] != TokenizedExample.IGNORE) {
                return j;
            }
        }
        throw new IllegalArgumentException("a preference row without an answer token");
    }

    /** TRL's reward metrics of one micro-batch (rewards: chosen rows, then rejected rows). */
    private static Map<String, Double> metricsOf(float[] r, int b) {
        float[] chosen = new float[b];
        float[] rejected = new float[b];
        System.arraycopy(r, 0, chosen, 0, b);
        System.arraycopy(r, b, rejected, 0, b);
        RewardLoss.Metrics m = RewardLoss.Metrics.of(chosen, rejected);
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("accuracy", m.accuracy());
        out.put("margin", m.margin());
        out.put("rewards/chosen", m.rewardsChosen());
        out.put("rewards/rejected", m.rewardsRejected());
        return out;
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
}
