package org.llamawb.finetune.reward;

import ai.djl.ndarray.NDArray;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.llamawb.adapters.score.RewardModel;
import org.llamawb.datasets.batch.LoadedBatch;
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
 * A reward model with LoRA ({@code method: reward}): the trainer's adapter plus a {@code score} head
 * ({@link RewardModel}) trained on preference pairs from any preference reader, in a seeded resumable
 * order, with {@link RewardObjective}. The head is a {@linkplain #heads() head} the trainer saves with the
 * adapter, so checkpoints and the final adapter are PEFT {@code SEQ_CLS} directories.
 */
public final class RewardMethod implements TrainingMethod<PairBatch> {
    private final RewardModel reward;
    private final RewardObjective objective;
    private final PreparedData<PairDataset> data;
    private final PairLoader loader;
    private final PairLoader validation;

    private RewardMethod(RewardModel reward, PreparedData<PairDataset> data, PairLoader loader, PairLoader validation) {
        this.reward = reward;
        this.objective = new RewardObjective(reward);
        this.data = data;
        this.loader = loader;
        this.validation = validation;
    }

    /**
     * Reads and encodes the recipe's preference pairs (refusing data without pairs) and puts a new head on the
     * trainer's adapter, which must already be on the model.
     */
    public static RewardMethod create(MethodContext ctx) {
        Recipe r = ctx.recipe();
        if (!r.adapter().modulesToSave().isEmpty()) {
            throw new BadInputException("adapter.modules_to_save: method reward trains only the adapter and the score "
                    + "head, got " + r.adapter().modulesToSave());
        }
        PreparedData<PairDataset> data = DatasetBuilder.preference(r.data(), ctx.tokenizer(), ctx.template(), Path.of(""));
        data.report().lines().forEach(ctx.out()::println);
        if (data.train().size() == 0) {
            throw new BadInputException("data: no preference pair survived reading and encoding (method reward trains on "
                    + "chosen/rejected pairs; see the report above)");
        }
        int batch = r.train().microBatchSize();
        PairLoader loader = DatasetBuilder.trainPairLoader(data, r.data(), batch, ctx.padId());
        PairLoader validation = data.validation().size() == 0 ? null
                : DatasetBuilder.validationPairLoader(data, r.data(), batch, ctx.padId());
        return new RewardMethod(RewardModel.attach(ctx.lora(), ctx.adapterName(), r.train().seed()), data, loader,
                validation);
    }

    /** The score head {@code [1, hidden]}, saved as {@code base_model.model.score.weight} in {@code modules_to_save}. */
    @Override
    public Map<String, NDArray> heads() {
        return Map.of(RewardModel.HEAD, reward.score());
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

    /** Mean loss per pair and the reward metrics on the held-out pairs (averaged over micro-batches, as TRL logs them). */
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
