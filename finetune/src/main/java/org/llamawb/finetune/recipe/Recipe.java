package org.llamawb.finetune.recipe;

import java.util.Locale;
import org.llamawb.datasets.mix.DataOptions;
import org.llamawb.model.BadInputException;

/**
 * A training recipe: which method, on which model, with which adapter, data, schedule, evaluation,
 * tracking and output. Every section validates itself; absent sections take their defaults.
 *
 * @param method {@code sft} (reward, dpo and ppo are named in the design but not built yet)
 */
public record Recipe(
        String method,
        ModelSection model,
        AdapterSection adapter,
        DataOptions data,
        TrainSection train,
        EvalSection eval,
        TrackingSection tracking,
        OutputSection output) {

    public Recipe {
        method = method == null ? "sft" : method.toLowerCase(Locale.ROOT);
        if (!method.equals("sft")) {
            throw new BadInputException("method: '" + method + "' is not available (this version trains sft)");
        }
        if (model == null) {
            throw new BadInputException("missing required section 'model' (model.path names the checkpoint)");
        }
        if (data == null) {
            throw new BadInputException("missing required section 'data' (data.sources lists the training files)");
        }
        adapter = adapter == null ? AdapterSection.NONE : adapter;
        train = train == null ? TrainSection.defaults() : train;
        eval = eval == null ? EvalSection.defaults() : eval;
        tracking = tracking == null ? TrackingSection.defaults() : tracking;
        output = output == null ? OutputSection.defaults() : output;
    }
}
