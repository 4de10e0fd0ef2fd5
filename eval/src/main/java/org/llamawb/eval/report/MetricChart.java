package org.llamawb.eval.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.llamawb.eval.metrics.Metric;

/**
 * A PNG bar chart of one task's metrics, drawn with java.awt in headless mode: one group of bars per metric,
 * one bar per model variant (base, adapter), with ± standard-error whiskers.
 */
public final class MetricChart {
    private static final int WIDTH = 560;
    private static final int HEIGHT = 340;
    private static final Color[] COLORS = {new Color(0x4C72B0), new Color(0xDD8452), new Color(0x55A868)};

    /** One bar group: a metric and its value on each variant. */
    public record Group(String metric, List<Metric> values) {}

    private MetricChart() {}

    /** The chart of one task of one report. */
    public static void write(TaskResult t, String label, Path file) {
        List<Group> groups = new ArrayList<>();
        t.metrics().values().forEach(m -> groups.add(new Group(m.name(), List.of(m))));
        draw(t.task(), List.of(label), groups, file);
    }

    /** The chart of one task, base next to adapter. */
    public static void write(Comparison c, String task, Path file) {
        List<Group> groups = new ArrayList<>();
        for (Comparison.Row r : c.rows()) {
            if (r.task().equals(task)) {
                groups.add(new Group(r.metric(), List.of(r.base(), r.adapted())));
            }
        }
        draw(task, List.of(c.base().label(), c.adapted().label()), groups, file);
    }

    static void draw(String title, List<String> series, List<Group> groups, Path file) {
        System.setProperty("java.awt.headless", "true");
        BufferedImage img = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            int left = 60;
            int right = WIDTH - 20;
            int top = 50;
            int bottom = HEIGHT - 50;
            double max = 0;
            for (Group gr : groups) {
                for (Metric m : gr.values()) {
                    if (Double.isFinite(m.value())) {
                        max = Math.max(max, m.value() + (m.hasStderr() ? m.stderr() : 0));
                    }
                }
            }
            // fractions (acc) on [0, 1]; anything else (perplexity, tokens/s) on its own scale
            max = max <= 1 ? 1 : niceCeiling(max);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
            g.drawString(title, left, 24);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            FontMetrics fm = g.getFontMetrics();
            for (int i = 0; i <= 4; i++) {
                double v = max * i / 4;
                int y = bottom - (int) Math.round((bottom - top) * (double) i / 4);
                g.setColor(new Color(0xDDDDDD));
                g.drawLine(left, y, right, y);
                g.setColor(Color.DARK_GRAY);
                String s = label(v);
                g.drawString(s, left - 6 - fm.stringWidth(s), y + 4);
            }
            int groupWidth = groups.isEmpty() ? 0 : (right - left) / groups.size();
            int barWidth = Math.max(6, Math.min(60, (groupWidth - 20) / Math.max(1, series.size())));
            for (int gi = 0; gi < groups.size(); gi++) {
                Group gr = groups.get(gi);
                int x0 = left + gi * groupWidth + (groupWidth - barWidth * gr.values().size()) / 2;
                for (int si = 0; si < gr.values().size(); si++) {
                    Metric m = gr.values().get(si);
                    if (!Double.isFinite(m.value())) {
                        continue;
                    }
                    int h = (int) Math.round((bottom - top) * Math.min(1, m.value() / max));
                    int x = x0 + si * barWidth;
                    g.setColor(COLORS[si % COLORS.length]);
                    g.fillRect(x + 2, bottom - h, barWidth - 4, h);
                    g.setColor(Color.BLACK);
                    String s = label(m.value());
                    g.drawString(s, x + barWidth / 2 - fm.stringWidth(s) / 2, bottom - h - 4 - (m.hasStderr() ? 8 : 0));
                    if (m.hasStderr()) {
                        int lo = bottom - (int) Math.round((bottom - top) * Math.max(0, m.value() - m.stderr()) / max);
                        int hi = bottom - (int) Math.round((bottom - top) * Math.min(1, (m.value() + m.stderr()) / max));
                        int cx = x + barWidth / 2;
                        g.setStroke(new BasicStroke(1.2f));
                        g.drawLine(cx, lo, cx, hi);
                        g.drawLine(cx - 4, lo, cx + 4, lo);
                        g.drawLine(cx - 4, hi, cx + 4, hi);
                    }
                }
                g.setColor(Color.BLACK);
                g.drawString(gr.metric(), left + gi * groupWidth + groupWidth / 2 - fm.stringWidth(gr.metric()) / 2, bottom + 16);
            }
            g.drawLine(left, bottom, right, bottom);
            int lx = left;
            for (int si = 0; si < series.size(); si++) {
                g.setColor(COLORS[si % COLORS.length]);
                g.fillRect(lx, HEIGHT - 22, 12, 12);
                g.setColor(Color.BLACK);
                g.drawString(series.get(si), lx + 16, HEIGHT - 12);
                lx += 24 + fm.stringWidth(series.get(si));
            }
        } finally {
            g.dispose();
        }
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            ImageIO.write(img, "png", file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String label(double v) {
        return Math.abs(v) >= 1000 ? String.format(Locale.ROOT, "%.3g", v) : String.format(Locale.ROOT, "%.3f", v);
    }

    private static double niceCeiling(double v) {
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 2, 2.5, 5, 10}) {
            if (m * p >= v) {
                return m * p;
            }
        }
        return 10 * p;
    }
}
