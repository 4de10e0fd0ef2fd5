package org.llamawb.finetune.optim;

import java.util.Locale;
import org.llamawb.model.BadInputException;

/**
 * Learning-rate multipliers as transformers' schedulers compute them ({@code get_*_schedule_with_warmup}):
 * a linear warm-up from 0 over {@code warmup} steps, then constant, linearly decaying to 0, or
 * following half a cosine to 0, at optimiser step {@code step} (0-based) of {@code total}.
 */
public enum LrSchedule {
    CONSTANT,
    LINEAR,
    COSINE;

    /** The multiplier of the peak learning rate used by update {@code step} (0-based). */
    public double factor(long step, long warmup, long total) {
        if (step < warmup) {
            return (double) step / Math.max(1, warmup);
        }
        double progress = (double) (step - warmup) / Math.max(1, total - warmup);
        return switch (this) {
            case CONSTANT -> 1.0;
            case LINEAR -> Math.max(0.0, (double) (total - step) / Math.max(1, total - warmup));
            case COSINE -> Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * progress)));
        };
    }

    /** Parses a recipe value ({@code constant}, {@code linear}, {@code cosine}). */
    public static LrSchedule parse(String s) {
        try {
            return valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new BadInputException("train.lr_schedule: unknown schedule '" + s + "' (expected constant, linear or cosine)");
        }
    }
}
