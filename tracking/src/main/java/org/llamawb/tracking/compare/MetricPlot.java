package org.llamawb.tracking.compare;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.llamawb.tracking.mlflow.MetricPoint;
import org.llamawb.tracking.mlflow.RemoteRun;

/**
 * A line plot of one metric over steps, one line per run, written as PNG with java.awt (headless): axes
 * with "nice" ticks (1, 2, 5 x 10^k), a light grid, axis labels, and a legend naming each run.
 */
public final class MetricPlot {
    private MetricPlot() {}

    static final int WIDTH = 1000;
    static final int HEIGHT = 600;

    /** Matplotlib's tab10 palette: distinct, and familiar from Python plots of the same runs. */
    static final Color[] PALETTE = {
        new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728), new Color(0x9467bd),
        new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f), new Color(0xbcbd22), new Color(0x17becf)
    };

    /** Plots the comparison's chosen metric for each run that logged it. */
    public static void write(RunComparison comparison, Path png) throws IOException {
        if (comparison.metric() == null) {
            throw new org.llamawb.tracking.TrackingException("no metric to plot: the runs of '"
                    + comparison.experiment() + "' logged none");
        }
        Map<String, List<MetricPoint>> series = new LinkedHashMap<>();
        for (RemoteRun r : comparison.runs()) {
            List<MetricPoint> h = comparison.histories().get(r.runId());
            if (h != null) {
                String label = r.name() + " (" + r.runId().substring(0, Math.min(8, r.runId().length())) + ")";
                series.put(label, h);
            }
        }
        write(comparison.metric(), comparison.experiment(), series, png);
    }

    /** Plots named series of points (x = step, y = value) to a PNG file. */
    public static void write(String metric, String experiment, Map<String, List<MetricPoint>> series, Path png)
            throws IOException {
        System.setProperty("java.awt.headless", System.getProperty("java.awt.headless", "true"));
        BufferedImage img = render(metric, experiment, series);
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        if (!ImageIO.write(img, "png", png.toFile())) {
            throw new IOException("no PNG writer in this JVM");
        }
    }

    static BufferedImage render(String metric, String experiment, Map<String, List<MetricPoint>> series) {
        BufferedImage img = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            draw(g, metric, experiment, series);
        } finally {
            g.dispose();
        }
        return img;
    }

    private static void draw(Graphics2D g, String metric, String experiment, Map<String, List<MetricPoint>> series) {
        Font tickFont = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
        Font labelFont = new Font(Font.SANS_SERIF, Font.PLAIN, 15);
        Font titleFont = new Font(Font.SANS_SERIF, Font.BOLD, 17);

        double xmin = Double.POSITIVE_INFINITY;
        double xmax = Double.NEGATIVE_INFINITY;
        double ymin = Double.POSITIVE_INFINITY;
        double ymax = Double.NEGATIVE_INFINITY;
        for (List<MetricPoint> s : series.values()) {
            for (MetricPoint p : s) {
                if (Double.isFinite(p.value())) {
                    xmin = Math.min(xmin, p.step());
                    xmax = Math.max(xmax, p.step());
                    ymin = Math.min(ymin, p.value());
                    ymax = Math.max(ymax, p.value());
                }
            }
        }
        if (xmin > xmax) { // nothing finite to draw
            xmin = 0;
            xmax = 1;
            ymin = 0;
            ymax = 1;
        }
        double[] xr = padded(xmin, xmax, 0);
        double[] yr = padded(ymin, ymax, 0.05);
        double[] xt = ticks(xr[0], xr[1], 8);
        double[] yt = ticks(yr[0], yr[1], 7);

        // Legend width decides the plot area's right edge.
        g.setFont(tickFont);
        FontMetrics tfm = g.getFontMetrics();
        int legendText = 0;
        for (String name : series.keySet()) {
            legendText = Math.max(legendText, tfm.stringWidth(shorten(name)));
        }
        int legendW = series.isEmpty() ? 0 : legendText + 44;
        int yLabelW = 0;
        for (double t : yt) {
            yLabelW = Math.max(yLabelW, tfm.stringWidth(Table.number(t)));
        }
        int left = 40 + yLabelW + 12;
        int right = WIDTH - 24 - legendW - (legendW > 0 ? 16 : 0);
        int top = 50;
        int bottom = HEIGHT - 62;

        // Title.
        g.setColor(Color.BLACK);
        g.setFont(titleFont);
        String title = metric + " by step" + (experiment == null ? "" : " \u2014 experiment " + experiment);
        g.drawString(title, left + (right - left - g.getFontMetrics().stringWidth(title)) / 2, 30);

        // Grid and ticks.
        g.setFont(tickFont);
        for (double t : xt) {
            int x = px(t, xr, left, right);
            g.setColor(new Color(0xE6E6E6));
            g.drawLine(x, top, x, bottom);
            g.setColor(Color.BLACK);
            g.drawLine(x, bottom, x, bottom + 5);
            String s = Table.number(t);
            g.drawString(s, x - tfm.stringWidth(s) / 2, bottom + 8 + tfm.getAscent());
        }
        for (double t : yt) {
            int y = py(t, yr, top, bottom);
            g.setColor(new Color(0xE6E6E6));
            g.drawLine(left, y, right, y);
            g.setColor(Color.BLACK);
            g.drawLine(left - 5, y, left, y);
            String s = Table.number(t);
            g.drawString(s, left - 8 - tfm.stringWidth(s), y + tfm.getAscent() / 2 - 1);
        }
        g.setColor(Color.BLACK);
        g.setStroke(new BasicStroke(1.2f));
        g.drawRect(left, top, right - left, bottom - top);

        // Axis labels.
        g.setFont(labelFont);
        FontMetrics lfm = g.getFontMetrics();
        g.drawString("step", left + (right - left - lfm.stringWidth("step")) / 2, HEIGHT - 16);
        AffineTransform saved = g.getTransform();
        g.rotate(-Math.PI / 2);
        g.drawString(metric, -(top + (bottom - top + lfm.stringWidth(metric)) / 2), 22);
        g.setTransform(saved);

        // Lines, clipped to the plot area; a NaN breaks the line.
        g.setClip(left + 1, top + 1, right - left - 1, bottom - top - 1);
        g.setStroke(new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
        int i = 0;
        for (List<MetricPoint> s : series.values()) {
            g.setColor(PALETTE[i++ % PALETTE.length]);
            Path2D.Double path = new Path2D.Double();
            boolean pen = false;
            List<int[]> lone = new ArrayList<>();
            for (int k = 0; k < s.size(); k++) {
                MetricPoint p = s.get(k);
                if (!Double.isFinite(p.value())) {
                    pen = false;
                    continue;
                }
                double x = pxd(p.step(), xr, left, right);
                double y = pyd(p.value(), yr, top, bottom);
                if (pen) {
                    path.lineTo(x, y);
                } else {
                    path.moveTo(x, y);
                    boolean nextFinite = k + 1 < s.size() && Double.isFinite(s.get(k + 1).value());
                    if (!nextFinite) {
                        lone.add(new int[] {(int) Math.round(x), (int) Math.round(y)});
                    }
                }
                pen = true;
            }
            g.draw(path);
            for (int[] p : lone) {
                g.fillOval(p[0] - 3, p[1] - 3, 7, 7);
            }
        }
        g.setClip(null);

        // Legend, right of the plot.
        if (!series.isEmpty()) {
            g.setFont(tickFont);
            int lx = right + 16;
            int lh = tfm.getHeight() + 6;
            g.setColor(Color.WHITE);
            g.fillRect(lx, top, legendW, lh * series.size() + 10);
            g.setColor(new Color(0xB0B0B0));
            g.setStroke(new BasicStroke(1f));
            g.drawRect(lx, top, legendW, lh * series.size() + 10);
            int row = 0;
            for (String name : series.keySet()) {
                int y = top + 5 + lh * row + lh / 2;
                g.setColor(PALETTE[row % PALETTE.length]);
                g.setStroke(new BasicStroke(3f));
                g.drawLine(lx + 8, y, lx + 32, y);
                g.setColor(Color.BLACK);
                g.drawString(shorten(name), lx + 38, y + tfm.getAscent() / 2 - 1);
                row++;
            }
        }
    }

    private static String shorten(String s) {
        return s.length() > 40 ? s.substring(0, 37) + "..." : s;
    }

    /** The range widened by {@code frac} each side, or to a unit interval around a single value. */
    static double[] padded(double lo, double hi, double frac) {
        if (hi - lo <= 0) {
            double d = lo == 0 ? 1 : Math.abs(lo) * 0.1;
            return new double[] {lo - d, hi + d};
        }
        double pad = (hi - lo) * frac;
        return new double[] {lo - pad, hi + pad};
    }

    /** Tick positions within [lo, hi] at a step of 1, 2 or 5 times a power of ten, about {@code target} of them. */
    static double[] ticks(double lo, double hi, int target) {
        double raw = (hi - lo) / Math.max(1, target);
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = mag;
        for (double m : new double[] {1, 2, 5, 10}) {
            if (m * mag >= raw) {
                step = m * mag;
                break;
            }
        }
        double first = Math.ceil(lo / step - 1e-9) * step;
        double last = Math.floor(hi / step + 1e-9) * step;
        int n = (int) Math.round((last - first) / step) + 1;
        double[] t = new double[n];
        for (int k = 0; k < n; k++) {
            // Round to the step's precision so labels read 0.3, not 0.30000000000000004.
            t[k] = new java.math.BigDecimal(first + k * step).round(new java.math.MathContext(12)).doubleValue();
        }
        return t;
    }

    private static int px(double v, double[] r, int a, int b) {
        return (int) Math.round(pxd(v, r, a, b));
    }

    private static double pxd(double v, double[] r, int a, int b) {
        return a + (v - r[0]) / (r[1] - r[0]) * (b - a);
    }

    private static int py(double v, double[] r, int top, int bottom) {
        return (int) Math.round(pyd(v, r, top, bottom));
    }

    private static double pyd(double v, double[] r, int top, int bottom) {
        return bottom - (v - r[0]) / (r[1] - r[0]) * (bottom - top);
    }
}
