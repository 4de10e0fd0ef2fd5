package org.llamawb.finetune.recipe;

import java.util.List;
import org.llamawb.model.BadInputException;

/**
 * Evaluation during training.
 *
 * @param everySteps validation loss on the held-out split every N optimiser steps (0 = only at the end)
 * @param maxBatches at most this many validation micro-batches per evaluation (0 = the whole split)
 * @param samplePrompts prompts to generate from at the end (written to samples.jsonl)
 * @param sampleMaxNewTokens tokens per sample
 * @param onStart also evaluate before the first step (the "before" of a before/after comparison)
 */
public record EvalSection(Integer everySteps, Integer maxBatches, List<String> samplePrompts, Integer sampleMaxNewTokens,
        Boolean onStart) {

    static EvalSection defaults() {
        return new EvalSection(null, null, null, null, null);
    }

    public EvalSection {
        onStart = onStart == null || onStart;
        everySteps = everySteps == null ? 0 : everySteps;
        maxBatches = maxBatches == null ? 0 : maxBatches;
        samplePrompts = samplePrompts == null ? List.of() : List.copyOf(samplePrompts);
        sampleMaxNewTokens = sampleMaxNewTokens == null ? 64 : sampleMaxNewTokens;
        if (everySteps < 0 || maxBatches < 0 || sampleMaxNewTokens < 0) {
            throw new BadInputException("eval.every_steps, eval.max_batches and eval.sample_max_new_tokens must be >= 0");
        }
    }
}
