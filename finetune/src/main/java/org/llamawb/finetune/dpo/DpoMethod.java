package org.llamawb.finetune.dpo;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.llamawb.datasets.batch.LoadedBatch;
import org.llamawb.datasets.batch.LoaderOptions;
import org.llamawb.datasets.batch.LoaderPosition;
import org.llamawb.datasets.batch.PairBatch;
import org.llamawb.datasets.batch.PairDataset;
import org.llamawb.datasets.batch.PairLoader;
import org.llamawb.datasets.mix.DatasetBuilder;
import org.llamawb.datasets.mix.PreparedData;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.train.MethodContext;
import org.llamawb.finetune.train.MetricMeans;
import org.llamawb.finetune.train.TrainingMethod;
import org.llamawb.model.BadInputException;

/**
 * Direct preference optimisation with LoRA ({@code method: dpo}): preference pairs from any preference
 * reader, in a seeded resumable order, trained with {@link DpoObjective}.
 */
public final class DpoMethod implements TrainingMethod<PairBatch> {
    private final DpoObjective objective;
    private final PreparedData<PairDataset> data;
    private final PairLoader loader;
    private final PairLoader validation;

    private DpoMethod(DpoObjective objective, PreparedData<PairDataset> data, PairLoader loader, PairLoader validation) {
        this.objective = objective;
        this.data = data;
        this.loader = loader;
        this.validation = validation;
    }

    /** Reads and encodes the recipe's preference pairs; refuses data without pairs. */
    public static DpoMethod create(MethodContext ctx) {
        Recipe r = ctx.recipe();
        PreparedData<PairDataset> data = DatasetBuilder.preference(r.data(), ctx.tokenizer(), ctx.template(), Path.of(""));
        data.report().lines().forEach(ctx.out()::println);
        if (data.train().size() == 0) {
            throw new BadInputException("data: no preference pair survived reading and encoding (method dpo trains on "
                    + "chosen/rejected pairs; see the report above)");
        }
        int batch = r.train().microBatchSize();
        PairLoader loader = DatasetBuilder.trainPairLoader(data, r.data(), batch, ctx.padId());
        PairLoader validation = data.validation().size() == 0 ? null
                : DatasetBuilder.validationPairLoader(data, r.data(), batch, ctx.padId());
        DpoObjective objective = new DpoObjective(ctx.model(), ctx.lora(), DpoLoss.of(r.dpo()));
        if (r.dpo().precomputeRefLogProbs()) {
            // every training pair once, in dataset order
            PairLoader all = new PairLoader(data.train(), new LoaderOptions(batch, r.data().maxLength(), false, false, false,
                    r.data().seed(), ctx.padId()));
            for (int i = 0; i < all.batchesInEpoch(0); i++) {
                objective.precompute(all.batch(0, i));
            }
            ctx.out().printf("reference log-probabilities of %d sequences precomputed%n", objective.precomputedSequences());
        }
        return new DpoMethod(objective, data, loader, validation);
    }

    @Override
    public double lossAndBackward(PairBatch batch, double scale, long seed) {
        return objective.lossAndBackward(batch, scale, seed);
    }

    @Override
    public long units(PairBatch batch) {
        return objective.units(batch);
    }

    @Override
    public long tokens(PairBatch batch) {
        return objective.tokens(batch);
    }

    @Override
    public long trainedTokens(PairBatch batch) {
        return objective.trainedTokens(batch);
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

    /** Mean loss per pair and TRL's metrics on the held-out pairs. */
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
}
