package org.llamawb.model.hub;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A download's progress: on a terminal one line redrawn in place (bar, size, rate, ETA), at most ten
 * times a second; in a log file a line when it starts and one when it ends, so logs stay readable.
 */
final class TransferProgress {
    private static final int BAR = 24;

    private final PrintStream out;
    private final boolean terminal;
    private final String label;
    private final long startedAt;
    private final long startBytes;
    private long total;
    private boolean announced;
    private long lastDraw;
    private long done;

    /** {@code total} is -1 when unknown; {@code already} bytes were there before (a resumed download). */
    TransferProgress(PrintStream out, boolean terminal, String label, long total, long already) {
        this.out = out;
        this.terminal = terminal;
        this.label = label;
        this.total = total;
        this.done = already;
        this.startBytes = already;
        this.startedAt = System.nanoTime();
    }

    /** The first response's headers are in: the size is known now if the caller did not know it. */
    void begin(long size) {
        if (total < 0) {
            total = size;
        }
        if (!announced && !terminal) {
            out.println("downloading " + label + " (" + size(total) + (startBytes > 0 ? ", resuming at " + size(startBytes) : "") + ")");
        }
        announced = true;
    }

    void advance(long bytes) {
        done += bytes;
        if (terminal) {
            long now = System.nanoTime();
            if (now - lastDraw > 100_000_000L) {
                lastDraw = now;
                draw(now);
            }
        }
    }

    /** The current count after a reconnect that restarted from {@code bytes}. */
    void reset(long bytes) {
        done = bytes;
    }

    void finish() {
        long now = System.nanoTime();
        if (terminal) {
            draw(now);
            out.println();
        } else {
            double s = (now - startedAt) / 1e9;
            out.printf(Locale.ROOT, "downloaded %s: %s in %.1f s%n", label, size(done), s);
        }
    }

    /** Ends a terminal line that {@link #finish} will not end (the download failed). */
    void abandon() {
        if (terminal) {
            out.println();
        }
    }

    private void draw(long now) {
        double s = Math.max(1e-3, (now - startedAt) / 1e9);
        double rate = (done - startBytes) / s;
        StringBuilder b = new StringBuilder("\r").append(label).append(' ');
        if (total > 0) {
            int filled = (int) (BAR * Math.min(1.0, done / (double) total));
            b.append('[').append("#".repeat(filled)).append(".".repeat(BAR - filled)).append("] ");
            b.append(String.format(Locale.ROOT, "%3d%% ", (int) (100 * Math.min(1.0, done / (double) total))));
            b.append(size(done)).append('/').append(size(total));
            if (rate > 0 && done < total) {
                b.append(" | ").append(size((long) rate)).append("/s | ETA ").append(duration((total - done) / rate));
            } else {
                b.append(" | ").append(size((long) rate)).append("/s");
            }
        } else {
            b.append(size(done)).append(" | ").append(size((long) rate)).append("/s");
        }
        out.print(b.append("\u001b[K")); // erase what a longer earlier line left
        out.flush();
    }

    static String size(long bytes) {
        if (bytes < 0) {
            return "size unknown";
        }
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    private static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? (s / 3600) + "h" + (s % 3600 / 60) + "m" : s >= 60 ? (s / 60) + "m" + (s % 60) + "s" : s + "s";
    }
}
