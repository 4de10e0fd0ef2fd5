package org.llamawb.finetune.train;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;
import org.llamawb.model.progress.Progress.Style;

/**
 * The progress line of a long run, for people. Off a terminal (a log file, CI) one plain line per logged
 * step, a format tests and docs read:
 * {@code step 120/400 | loss 1.8734 | lr 1.86e-04 | grad_norm 0.512 | 2,310 tok/s | remat hybrid | ETA 4m05s}.
 * On a terminal the same figures after a bar, redrawn in place and ended with a newline at the last step:
 * {@code step 120/400 [#######.................]  30% | loss 1.8734 | ... | ETA 4m05s}.
 *
 * <p>The style is chosen as for every other progress display ({@link
 * org.llamawb.model.progress.Progress#defaultStyle()}): {@code WORKBENCH_PROGRESS=bar|plain|off}, else a
 * bar when attached to a terminal; {@code off} prints no step lines (metrics still go to tracking).
 */
final class Progress {
    private static final int BAR_WIDTH = 24;

    private final PrintStream out;
    private final long total;
    private final String policy;
    private final Style style;
    private final LongSupplier clock;
    private final long startNanos;
    private final long startStep;
    private long tokens;
    private int drawnWidth;

    Progress(PrintStream out, long startStep, long total, String policy) {
        this(out, startStep, total, policy, org.llamawb.model.progress.Progress.defaultStyle(), System::nanoTime);
    }

    /** For tests: a fixed style and a clock in nanoseconds. */
    Progress(PrintStream out, long startStep, long total, String policy, Style style, LongSupplier clock) {
        this.out = out;
        this.startStep = startStep;
        this.total = total;
        this.policy = policy;
        this.style = style;
        this.clock = clock;
        this.startNanos = clock.getAsLong();
    }

    void addTokens(long n) {
        tokens += n;
    }

    /** Tokens per second since this process started training. */
    double tokensPerSecond() {
        double s = (clock.getAsLong() - startNanos) / 1e9;
        return s > 0 ? tokens / s : 0;
    }

    void line(long step, double loss, double lr, double gradNorm) {
        double s = (clock.getAsLong() - startNanos) / 1e9;
        long done = step - startStep;
        long etaSeconds = done > 0 ? Math.round(s / done * (total - step)) : 0;
        String figures = String.format(Locale.ROOT, "loss %.4f | lr %.2e | grad_norm %.3f | %,.0f tok/s | remat %s | ETA %s",
                loss, lr, gradNorm, tokensPerSecond(), policy, duration(etaSeconds));
        switch (style) {
            case PLAIN -> out.printf(Locale.ROOT, "step %d/%d | %s%n", step, total, figures);
            case BAR -> {
                String text = String.format(Locale.ROOT, "step %d/%d %s | %s", step, total, bar(step), figures);
                // Pad over a longer previous draw so no stale characters remain; a newline after the last step
                // keeps the final figures on screen.
                String pad = " ".repeat(Math.max(0, drawnWidth - text.length()));
                drawnWidth = text.length();
                out.print("\r" + text + pad + (step >= total ? "\n" : ""));
            }
            case OFF -> {
                return;
            }
        }
        out.flush();
    }

    /**
     * Prints {@code message} on a line of its own (an evaluation, a skipped update): a bar being redrawn is
     * cleared first and drawn again at the next step, so the two never share a line.
     */
    void println(String message) {
        if (style == Style.BAR && drawnWidth > 0) {
            out.print("\r" + " ".repeat(drawnWidth) + "\r");
            drawnWidth = 0;
        }
        out.println(message);
        out.flush();
    }

    /** {@code [#####...]  20%}: the share of all steps done, including those before a resume. */
    String bar(long step) {
        long clamped = Math.max(0, Math.min(step, total));
        int filled = total > 0 ? (int) (clamped * BAR_WIDTH / total) : 0;
        long percent = total > 0 ? clamped * 100 / total : 0;
        return "[" + "#".repeat(filled) + ".".repeat(BAR_WIDTH - filled) + "] " + String.format(Locale.ROOT, "%3d%%", percent);
    }

    static String duration(long seconds) {
        if (seconds >= 3600) {
            return String.format(Locale.ROOT, "%dh%02dm", seconds / 3600, seconds % 3600 / 60);
        }
        return String.format(Locale.ROOT, "%dm%02ds", seconds / 60, seconds % 60);
    }
}
