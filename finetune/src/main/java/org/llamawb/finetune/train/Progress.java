package org.llamawb.finetune.train;

import java.io.PrintStream;
import java.util.Locale;

/**
 * The progress line of a long run, for people:
 * {@code step 120/400 | loss 1.8734 | lr 1.86e-04 | 2,310 tok/s | remat hybrid | ETA 4m05s}.
 */
final class Progress {
    private final PrintStream out;
    private final long total;
    private final String policy;
    private final long startNanos = System.nanoTime();
    private final long startStep;
    private long tokens;

    Progress(PrintStream out, long startStep, long total, String policy) {
        this.out = out;
        this.startStep = startStep;
        this.total = total;
        this.policy = policy;
    }

    void addTokens(long n) {
        tokens += n;
    }

    /** Tokens per second since this process started training. */
    double tokensPerSecond() {
        double s = (System.nanoTime() - startNanos) / 1e9;
        return s > 0 ? tokens / s : 0;
    }

    void line(long step, double loss, double lr, double gradNorm) {
        double s = (System.nanoTime() - startNanos) / 1e9;
        long done = step - startStep;
        long etaSeconds = done > 0 ? Math.round(s / done * (total - step)) : 0;
        out.printf(Locale.ROOT, "step %d/%d | loss %.4f | lr %.2e | grad_norm %.3f | %,.0f tok/s | remat %s | ETA %s%n",
                step, total, loss, lr, gradNorm, tokensPerSecond(), policy, duration(etaSeconds));
        out.flush();
    }

    static String duration(long seconds) {
        if (seconds >= 3600) {
            return String.format(Locale.ROOT, "%dh%02dm", seconds / 3600, seconds % 3600 / 60);
        }
        return String.format(Locale.ROOT, "%dm%02ds", seconds / 60, seconds % 60);
    }
}
