package org.llamawb.model.progress;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * The progress of one long task on stderr. On a terminal, one line redrawn in place (at most ten times a
 * second): {@code label [#######.........]  45% 123/456 tensors  12.3 tensors/s  ETA 0:27}. Elsewhere
 * (a log file, CI), a plain line at every tenth of the work and at least every 30 seconds, none in the first
 * two seconds, so logs stay short. Closing it prints the final line: what was done, how long it took, the
 * mean rate.
 *
 * <p>{@code WORKBENCH_PROGRESS=bar|plain|off} overrides the choice. Byte counts ({@code unit} "B") are
 * shown in KB/MB/GB.
 */
public final class Progress implements AutoCloseable {
    /** How progress is shown. */
    public enum Style { BAR, PLAIN, OFF }

    /** Progress that shows nothing. */
    public static final Progress NONE = new Progress("", -1, "", null, Style.OFF, () -> 0);

    private static final long REDRAW_NANOS = 100_000_000L;
    private static final long PLAIN_EVERY_NANOS = 30_000_000_000L;
    /** A task done within this time logs only its final line. */
    private static final long PLAIN_QUIET_NANOS = 2_000_000_000L;
    private static final int BAR_WIDTH = 24;

    private final String label;
    private final long total;
    private final String unit;
    private final PrintStream out;
    private final Style style;
    private final LongSupplier clock;
    private final long started;
    private long done;
    private long lastShown;
    private long lastTenth = -1;
    private int drawnWidth;
    private boolean closed;

    Progress(String label, long total, String unit, PrintStream out, Style style, LongSupplier clock) {
        this.label = label;
        this.total = total;
        this.unit = unit;
        this.out = out;
        this.style = style;
        this.clock = clock;
        this.started = clock.getAsLong();
        this.lastShown = started - PLAIN_EVERY_NANOS; // the first update shows at once
    }

    /**
     * Starts showing progress on stderr: a bar when stderr is a terminal, plain lines otherwise.
     *
     * @param total the amount of work, or -1 when unknown (then no percentage and no ETA)
     * @param unit what is counted, e.g. "examples", "tensors" or "B" (bytes)
     */
    public static Progress start(String label, long total, String unit) {
        return new Progress(label, total, unit, System.err, defaultStyle(), System::nanoTime);
    }

    /** For tests and callers with their own stream and clock (nanoseconds). */
    public static Progress of(String label, long total, String unit, PrintStream out, Style style, LongSupplier clock) {
        return new Progress(label, total, unit, out, style, clock);
    }

    /**
     * The style for stderr: {@code WORKBENCH_PROGRESS} when set, else a bar on a terminal and plain lines
     * elsewhere. Public so that progress shown in other shapes (the trainer's step line) chooses alike.
     */
    public static Style defaultStyle() {
        String env = System.getenv("WORKBENCH_PROGRESS");
        if (env != null) {
            for (Style s : Style.values()) {
                if (s.name().equalsIgnoreCase(env.trim())) {
                    return s;
                }
            }
        }
        // System.console() is non-null only when both stdin and stdout are terminals: the closest the JDK
        // comes to isatty(stderr). A dumb terminal cannot redraw in place.
        return System.console() != null && !"dumb".equals(System.getenv("TERM")) ? Style.BAR : Style.PLAIN;
    }

    /** Adds {@code n} units of finished work. */
    public synchronized void advance(long n) {
        set(done + n);
    }

    /** Sets the finished work to {@code value} (e.g. bytes received so far). */
    public synchronized void set(long value) {
        done = value;
        if (style == Style.OFF || closed) {
            return;
        }
        long now = clock.getAsLong();
        if (style == Style.BAR) {
            if (now - lastShown >= REDRAW_NANOS || (total > 0 && done >= total)) {
                draw(now);
            }
        } else if (now - started >= PLAIN_QUIET_NANOS) {
            long tenth = total > 0 ? Math.min(10, done * 10 / total) : -1;
            if ((tenth > lastTenth && tenth < 10) || now - lastShown >= PLAIN_EVERY_NANOS) {
                lastTenth = Math.max(lastTenth, tenth);
                lastShown = now;
                out.println(line(now));
                out.flush();
            }
        }
    }

    private void draw(long now) {
        lastShown = now;
        String text = bar(now);
        // Pad over a longer previous line so no stale characters remain.
        String pad = " ".repeat(Math.max(0, drawnWidth - text.length()));
        drawnWidth = text.length();
        out.print("\r" + text + pad);
        out.flush();
    }

    /** The finished work so far. */
    public synchronized long done() {
        return done;
    }

    /** Prints the final line (on a terminal, replacing the bar). */
    @Override
    public synchronized void close() {
        if (closed || style == Style.OFF) {
            closed = true;
            return;
        }
        closed = true;
        long now = clock.getAsLong();
        String end = label + ": " + amount(done) + (total > 0 && done < total ? " of " + amount(total) : "")
                + unitSuffix() + " in " + duration(now - started) + rateText(now);
        if (style == Style.BAR) {
            String pad = " ".repeat(Math.max(0, drawnWidth - end.length()));
            out.print("\r" + end + pad + "\n");
        } else {
            out.println(end);
        }
        out.flush();
    }

    String bar(long now) {
        StringBuilder b = new StringBuilder(label).append(' ');
        if (total > 0) {
            int filled = (int) Math.min(BAR_WIDTH, done * BAR_WIDTH / total);
            b.append('[').append("#".repeat(filled)).append(".".repeat(BAR_WIDTH - filled)).append("] ");
            b.append(String.format(Locale.ROOT, "%3d%% ", Math.min(100, done * 100 / total)));
            b.append(amount(done)).append('/').append(amount(total)).append(unitSuffix());
        } else {
            b.append(amount(done)).append(unitSuffix());
        }
        b.append(rateText(now));
        String eta = eta(now);
        if (eta != null) {
            b.append("  ETA ").append(eta);
        }
        return b.toString();
    }

    String line(long now) {
        StringBuilder b = new StringBuilder(label).append(": ");
        if (total > 0) {
            b.append(String.format(Locale.ROOT, "%d%% (%s of %s%s)", Math.min(100, done * 100 / total), amount(done),
                    amount(total), unitSuffix()));
        } else {
            b.append(amount(done)).append(unitSuffix());
        }
        b.append(rateText(now));
        String eta = eta(now);
        if (eta != null) {
            b.append(", ETA ").append(eta);
        }
        return b.toString();
    }

    /** Units per second since the start; NaN before any time has passed. */
    double rate(long now) {
        double seconds = (now - started) / 1e9;
        return seconds > 0 ? done / seconds : Double.NaN;
    }

    private String rateText(long now) {
        double r = rate(now);
        if (Double.isNaN(r)) {
            return "";
        }
        return unit.equals("B") ? "  " + bytes(r) + "/s" : String.format(Locale.ROOT, "  %.1f %s/s", r, unit);
    }

    /** The remaining time at the mean rate so far; null when unknown (no total, nothing done yet). */
    String eta(long now) {
        double r = rate(now);
        if (total <= 0 || done <= 0 || Double.isNaN(r) || done >= total) {
            return null;
        }
        return duration((long) ((total - done) / r * 1e9));
    }

    private String amount(long n) {
        return unit.equals("B") ? bytes(n) : String.valueOf(n);
    }

    /** " tensors" after a count; nothing after bytes, which carry their unit. */
    private String unitSuffix() {
        return unit.equals("B") || unit.isEmpty() ? "" : " " + unit;
    }

    static String bytes(double n) {
        String[] units = {"B", "KB", "MB", "GB", "TB"};
        int u = 0;
        while (n >= 1000 && u < units.length - 1) {
            n /= 1000;
            u++;
        }
        return u == 0 ? String.format(Locale.ROOT, "%.0f B", n) : String.format(Locale.ROOT, "%.1f %s", n, units[u]);
    }

    /** {@code m:ss}, or {@code h:mm:ss} from an hour on. */
    static String duration(long nanos) {
        long s = Math.max(0, Math.round(nanos / 1e9));
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
