package org.llamawb.tracking.compare;

import java.util.Locale;

/** Whether lower or higher values of a metric are better, guessed from its name. */
enum MetricGoal {
    MINIMIZE,
    MAXIMIZE;

    /** Losses, perplexities, errors and times are minimised; everything else (accuracy, reward) maximised. */
    static MetricGoal of(String metric) {
        String m = metric.toLowerCase(Locale.ROOT);
        for (String low : new String[] {"loss", "perplexity", "ppl", "error", "runtime", "_time", "wer", "cer"}) {
            if (m.contains(low)) {
                return MINIMIZE;
            }
        }
        return MAXIMIZE;
    }

    boolean better(double candidate, double current) {
        if (Double.isNaN(candidate)) {
            return false;
        }
        if (Double.isNaN(current)) {
            return true;
        }
        return this == MINIMIZE ? candidate < current : candidate > current;
    }
}
