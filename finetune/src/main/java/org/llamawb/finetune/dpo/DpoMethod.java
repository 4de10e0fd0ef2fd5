package org.llamawb.finetune.dpo;

import java.nio.file.Path;
import java.util.Map;
import org.llamawb.datasets.batch.LoaderOptions;
import org.llamawb.datasets.batch.PairDataset;
import org.llamawb.datasets.batch.PairLoader;
import org.llamawb.datasets.mix.DatasetBuilder;
import org.llamawb.datasets.mix.PreparedData;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.train.MethodContext;
import org.llamawb.finetune.train.PairMethod;
import org.llamawb.model.BadInputException;

/**
 * Direct preference optimisation with LoRA ({@code method: dpo}): preference pairs from any preference
 * reader, in a seeded resumable order, trained with {@link DpoObjective} against the base or, with
 * {@code dpo.reference: adapter}, the frozen SFT adapter of {@code adapter.init_from}.
 */
public final class DpoMethod {
    private DpoMethod() {}

    /** Reads and encodes the recipe's preference pairs; refuses data without pairs. */
    public static PairMethod create(MethodContext ctx) {
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
        // the frozen SFT adapter is loaded before the policy's copy of it exists (Trainer adds that next)
        ReferenceModel reference = r.dpo().referenceIsAdapter()
                ? ReferenceModel.adapter(ctx.model(), ctx.lora(), Path.of(r.adapter().initFrom()), "adapter.init_from")
                : ReferenceModel.base(ctx.model(), ctx.lora());
        if (reference.adapterName() != null) {
            ctx.out().println("reference model: the base with the frozen adapter " + r.adapter().initFrom()
                    + " (dpo.reference: adapter)");
        }
        DpoObjective objective = new DpoObjective(ctx.model(), reference, DpoLoss.of(r.dpo()), r.train().policy());
        if (r.dpo().precomputeRefLogProbs()) {
            // every training pair once, in dataset order
            PairLoader all = new PairLoader(data.train(), new LoaderOptions(batch, r.data().maxLength(), false, false, false,
                    r.data().seed(), ctx.padId()));
            for (int i = 0; i < all.batchesInEpoch(0); i++) {
                objective.precompute(all.batch(0, i));
            }
            ctx.out().printf("reference log-probabilities of %d sequences precomputed%n", objective.precomputedSequences());
        }
        return new PairMethod(objective, data, loader, validation, Map.of());
    }
}
