package org.llamawb.finetune.sft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import org.llamawb.datasets.batch.Batch;
import org.llamawb.datasets.batch.DataLoader;
import org.llamawb.datasets.batch.LoadedBatch;
import org.llamawb.datasets.batch.LoaderPosition;
import org.llamawb.datasets.batch.TokenizedDataset;
import org.llamawb.datasets.mix.DatasetBuilder;
import org.llamawb.datasets.mix.PreparedData;
import org.llamawb.datasets.mix.SourceReport;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.remat.Rematerialization;
import org.llamawb.finetune.train.MethodContext;
import org.llamawb.finetune.train.TrainingMethod;
import org.llamawb.finetune.train.TrainingStep;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;

/**
 * Supervised fine-tuning: the next-token loss of the assistant's tokens, summed over a micro-batch and
 * normalised by the trained tokens of the whole step, under the recipe's rematerialisation policy.
 */
public final class SftMethod implements TrainingMethod<Batch> {
    private final Llama model;
    private final SftLoss loss;
    private final PreparedData<TokenizedDataset> data;
    private final DataLoader loader;
    private final DataLoader validation;

    private SftMethod(Llama model, Rematerialization policy, PreparedData<TokenizedDataset> data, DataLoader loader,
            DataLoader validation) {
        this.model = model;
        this.loss = new SftLoss(model, policy);
        this.data = data;
        this.loader = loader;
        this.validation = validation;
    }

    /** Reads and encodes the recipe's data; refuses data that trains with another method. */
    public static SftMethod create(MethodContext ctx) {
        Recipe r = ctx.recipe();
        PreparedData<TokenizedDataset> data = DatasetBuilder.sft(r.data(), ctx.tokenizer(), ctx.template(), Path.of(""));
        refuseOtherMethodsData(data);
        data.report().lines().forEach(ctx.out()::println);
        if (data.train().size() == 0) {
            throw new BadInputException("data: no training example survived reading and encoding (see the report above)");
        }
        DataLoader loader = DatasetBuilder.trainLoader(data, r.data(), r.train().microBatchSize(), ctx.padId());
        DataLoader validation = data.validation().size() == 0 ? null
                : DatasetBuilder.validationLoader(data, r.data(), r.train().microBatchSize(), ctx.padId());
        ctx.out().println("batches: " + loader.efficiency(0));
        return new SftMethod(ctx.model(), r.train().policy(), data, loader, validation);
    }

    /**
     * Preference pairs have no single target, and a KTO file's undesirable answers must not become
     * targets: either kind of source is an error naming the method that trains on it.
     */
    static void refuseOtherMethodsData(PreparedData<?> data) {
        for (int i = 0; i < data.report().sources().size(); i++) {
            SourceReport s = data.report().sources().get(i);
            String fits = switch (s.format()) {
                case KTO -> "kto";
                case PREFERENCE, HH, SHAREGPT_PAIRS, OASST_PAIRS -> "dpo";
                case SHAREGPT, OPENAI, ALPACA, OASST, PROMPTS -> null;
            };
            if (fits != null) {
                throw new BadInputException("data.sources[" + i + "] (" + s.file() + "): '" + s.format().wireName()
                        + "' data does not train with method: sft; use method: " + fits);
            }
        }
    }

    @Override
    public TrainingStep.Loss<Batch> loss() {
        return loss;
    }

    @Override
    public int batchesInEpoch(int epoch) {
        return loader.batchesInEpoch(epoch);
    }

    @Override
    public Iterator<LoadedBatch<Batch>> batches(LoaderPosition start) {
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
        return Map.of();
    }

    /** Mean token loss on the validation split (assistant tokens only). */
    @Override
    public Map<String, Double> evaluate(int maxBatches) {
        if (validation == null) {
            return Map.of();
        }
        double sum = 0;
        long count = 0;
        int n = validation.batchesInEpoch(0);
        if (maxBatches > 0) {
            n = Math.min(n, maxBatches);
        }
        for (int i = 0; i < n; i++) {
            Batch tb = validation.batch(0, i);
            try (NDScope scope = new NDScope(); NDManager m = model.manager().newSubManager()) {
                NDArray normed = model.hidden(tb.inputIdsArray(m), tb.positionIdsArray(m), tb.segmentIdsArray(m), false);
                sum += CausalLmLoss.sumOverLabelled(model, normed, CausalLmLoss.shiftedLabels(m, tb.labels())).getFloat();
            }
            count += tb.trainedTokens();
        }
        return Map.of("loss", count == 0 ? Double.NaN : sum / count);
    }
}
