package org.llamawb.tracking.compare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.tracking.mlflow.MetricPoint;

class MetricPlotTest {

    @Test
    void ticksAreOneTwoOrFiveTimesAPowerOfTen() {
        assertArrayEquals(new double[] {0, 10, 20, 30, 40, 50}, MetricPlot.ticks(0, 50, 8), 1e-12);
        assertArrayEquals(new double[] {0, 10, 20, 30, 40}, MetricPlot.ticks(0, 49, 8), 1e-12);
        assertArrayEquals(new double[] {0.4, 0.6, 0.8, 1.0}, MetricPlot.ticks(0.25, 1.13, 6), 1e-12);
        assertArrayEquals(new double[] {-0.5, 0, 0.5}, MetricPlot.ticks(-0.9, 0.9, 4), 1e-12);
    }

    @Test
    void drawsEveryRunInItsOwnColourWithAxesAndLegend(@TempDir Path dir) throws Exception {
        Map<String, List<MetricPoint>> series = new LinkedHashMap<>();
        for (int run = 0; run < 3; run++) {
            List<MetricPoint> pts = new ArrayList<>();
            for (int step = 0; step < 50; step++) {
                pts.add(new MetricPoint("loss", (3 - run * 0.5) * Math.exp(-step / 15.0) + run * 0.1, step, step));
            }
            series.put("run-" + run, pts);
        }
        Path png = dir.resolve("plots/loss.png");
        if (System.getenv("WORKBENCH_KEEP_PLOT") != null) {
            MetricPlot.write("loss", "exp", series, Path.of(System.getenv("WORKBENCH_KEEP_PLOT")));
        }
        MetricPlot.write("loss", "exp", series, png);
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(MetricPlot.WIDTH, img.getWidth());
        assertEquals(MetricPlot.HEIGHT, img.getHeight());
        for (int run = 0; run < 3; run++) {
            // Enough pixels of each run's colour for a line across the plot and a legend swatch.
            assertTrue(count(img, MetricPlot.PALETTE[run]) > 300, "run " + run + " is not drawn");
        }
        // Text and axes: dark pixels in the left margin (y tick labels) and under the plot (x labels).
        assertTrue(countDark(img, 0, 60, 70, 540) > 100, "no y-axis labels");
        assertTrue(countDark(img, 100, 540, 700, 600) > 100, "no x-axis labels");
        assertEquals(Color.WHITE.getRGB(), img.getRGB(2, 2));
    }

    private static int count(BufferedImage img, Color c) {
        int n = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                if ((img.getRGB(x, y) & 0xFFFFFF) == (c.getRGB() & 0xFFFFFF)) {
                    n++;
                }
            }
        }
        return n;
    }

    private static int countDark(BufferedImage img, int x0, int y0, int x1, int y1) {
        int n = 0;
        for (int y = y0; y < y1; y++) {
            for (int x = x0; x < x1; x++) {
                Color c = new Color(img.getRGB(x, y));
                if (c.getRed() + c.getGreen() + c.getBlue() < 200) {
                    n++;
                }
            }
        }
        return n;
    }
}
