package org.llamawb.finetune.recipe;

import org.llamawb.model.BadInputException;

/**
 * Where checkpoints and the final adapter go.
 *
 * @param dir the run directory (checkpoints, journal, final adapter)
 * @param saveEverySteps checkpoint every N optimiser steps (0 = only at the end)
 * @param keepLast keep the newest N checkpoints
 */
public record OutputSection(String dir, Integer saveEverySteps, Integer keepLast) {
    static OutputSection defaults() {
        return new OutputSection(null, null, null);
    }

    public OutputSection {
        dir = dir == null ? "runs/latest" : dir;
        saveEverySteps = saveEverySteps == null ? 0 : saveEverySteps;
        keepLast = keepLast == null ? 2 : keepLast;
        if (saveEverySteps < 0) {
            throw new BadInputException("output.save_every_steps must be >= 0");
        }
        if (keepLast <= 0) {
            throw new BadInputException("output.keep_last must be > 0");
        }
    }
}
