package org.llamawb.finetune.train;

import ai.djl.ndarray.NDArray;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.llamawb.datasets.batch.LoadedBatch;
import org.llamawb.datasets.batch.LoaderPosition;
import org.llamawb.datasets.batch.PairBatch;
import org.llamawb.datasets.batch.PairDataset;
import org.llamawb.datasets.batch.PairLoader;
import org.llamawb.datasets.mix.PreparedData;

/**
 * A method trained on preference pairs (DPO, the reward model): the pairs in a seeded, resumable order, and
 * an {@link Objective} that says what is computed on them. The two methods differ only in their objective
 * (and the reward model's {@code score} head).
 */
public final class PairMethod implements TrainingMethod<PairBatch> {

    /** What a pair method computes on a batch of pairs. */
    public interface Objective extends TrainingStep.Loss<PairBatch> {
        /** Held-out metrics of one batch without gradients; {@code loss_sum} is the summed loss over its pairs. */
        Map<String, Double> evaluate(PairBatch batch);

        /** The training metrics since the last call, with TRL's names. */
        Map<String, Double> takeMetrics();

        /** The accumulator behind {@link #takeMetrics}. */
        MetricMeans metricMeans();
    }

    private final Objective objective;
    private final PreparedData<PairDataset> data;
    private final PairLoader loader;
    private final PairLoader validation;
    private final Map<String, NDArray> heads;

    /**
     * @param validation the held-out pairs, or null when there are none
     * @param heads trainable tensors outside the model (see {@link TrainingMethod#heads()})
     */
    public PairMethod(Objective objective, PreparedData<PairDataset> data, PairLoader loader, PairLoader validation,
            Map<String, NDArray> heads) {
        this.objective = objective;
        this.data = data;
        this.loader = loader;
        this.validation = validation;
        this.heads = Map.copyOf(heads);
    }

    @Override
    public TrainingStep.Loss<PairBatch> loss() {
        return objective;
    }

    @Override
    public int batchesInEpoch(int epoch) {
        return loader.batchesInEpoch(epoch);
    }

    @Override
    public Iterator<LoadedBatch<PairBatch>> batches(LoaderPosition start) {
        return loader.from(start);
    }

    @Override
    public long trainExamples() {
        return data.train().size();
    }

    @Override
    public long validationExamples() {
        return data.validation().size();
    }

    @Override
    public Map<String, Double> takeMetrics() {
        return objective.takeMetrics();
    }

    @Override
    public MetricMeans metricMeans() {
        return objective.metricMeans();
    }

    /** Mean loss per pair and the objective's metrics on the held-out pairs (averaged over batches, as TRL logs them). */
    @Override
    public Map<String, Double> evaluate(int maxBatches) {
        if (validation == null) {
            return Map.of();
        }
        int n = validation.batchesInEpoch(0);
        if (maxBatches > 0) {
            n = Math.min(n, maxBatches);
        }
        MetricMeans means = new MetricMeans();
        double lossSum = 0;
        long pairs = 0;
        for (int i = 0; i < n; i++) {
            PairBatch batch = validation.batch(0, i);
            Map<String, Double> m = new LinkedHashMap<>(objective.evaluate(batch));
            lossSum += m.remove("loss_sum");
            pairs += batch.chosen().rows();
            means.add(m);
        }
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("loss", pairs == 0 ? Double.NaN : lossSum / pairs);
        out.putAll(means.take());
        return out;
    }

    @Override
    public Map<String, NDArray> heads() {
        return heads;
    }
}
