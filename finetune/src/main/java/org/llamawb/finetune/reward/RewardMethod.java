package org.llamawb.finetune.reward;

import java.nio.file.Path;
import java.util.Map;
import org.llamawb.adapters.score.RewardModel;
import org.llamawb.datasets.batch.PairDataset;
import org.llamawb.datasets.batch.PairLoader;
import org.llamawb.datasets.mix.DatasetBuilder;
import org.llamawb.datasets.mix.PreparedData;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.train.MethodContext;
import org.llamawb.finetune.train.PairMethod;
import org.llamawb.model.BadInputException;

/**
 * A reward model with LoRA ({@code method: reward}): the trainer's adapter plus a {@code score} head
 * ({@link RewardModel}) trained on preference pairs from any preference reader, in a seeded resumable
 * order, with {@link RewardObjective}. The head is a {@linkplain PairMethod#heads() head} the trainer saves with the
 * adapter, so checkpoints and the final adapter are PEFT {@code SEQ_CLS} directories.
 */
public final class RewardMethod {
    private RewardMethod() {}

    /**
     * Reads and encodes the recipe's preference pairs (refusing data without pairs) and puts a new head on the
     * trainer's adapter, which must already be on the model.
     */
    public static PairMethod create(MethodContext ctx) {
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
        RewardModel reward = RewardModel.attach(ctx.lora(), ctx.adapterName(), r.train().seed());
        // the score head [1, hidden], saved as base_model.model.score.weight in modules_to_save
        return new PairMethod(new RewardObjective(reward, r.train().policy()), data, loader, validation, Map.of(RewardModel.HEAD, reward.score()));
    }
}
