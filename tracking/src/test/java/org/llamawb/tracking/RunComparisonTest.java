package org.llamawb.tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.tracking.compare.MetricPlot;
import org.llamawb.tracking.compare.RunComparison;
import org.llamawb.tracking.compare.RunList;
import org.llamawb.tracking.mlflow.MlflowServer;
import org.llamawb.tracking.mlflow.MlflowTimeouts;

/** Two runs that differ in one setting, compared through the server's search API. */
class RunComparisonTest {

    @TempDir
    Path dir;

    private void train(URI uri, String experiment, String name, double lr) {
        TrackingSettings s = TrackingSettings.defaults(Optional.of(uri), experiment)
                .withSystemMetricsInterval(Duration.ZERO).withNotices(n -> { });
        TrackedRun run = new Tracker(s).start(RunSpec.of(dir.resolve(name), name).withMethod("sft"));
        run.logParams(Params.flatten(MlflowRoundTripTest.recipe(lr)));
        for (int step = 0; step < 30; step++) {
            // The higher learning rate reaches a lower loss, with its minimum at step 20.
            double loss = 2.0 - lr * 2000 * Math.min(step, 20) / 20.0 + (step > 20 ? 0.01 * (step - 20) : 0);
            run.logMetrics(Map.of("loss", loss, "eval_loss", loss + 0.1), step);
        }
        run.finish();
    }

    @Test
    void aTagPicksTheRunsOfOneChain() throws Exception {
        URI uri = MlflowTestServer.uri();
        String experiment = "chain-" + UUID.randomUUID();
        for (String[] run : new String[][] {{"1-sft", "a"}, {"other", "b"}, {"3-ppo", "a"}}) {
            TrackingSettings s = TrackingSettings.defaults(Optional.of(uri), experiment)
                    .withSystemMetricsInterval(Duration.ZERO).withNotices(n -> { });
            TrackedRun r = new Tracker(s).start(RunSpec.of(dir.resolve(run[0]), run[0]).withTag("chain", run[1]));
            r.logMetrics(Map.of("loss", 1.0), 0);
            r.finish();
        }
        try (MlflowServer server = MlflowServer.connect(uri, MlflowTimeouts.DEFAULT)) {
            assertEquals(List.of("1-sft", "3-ppo"), RunComparison.load(server, experiment, null, Map.of("chain", "a"))
                    .runs().stream().map(r -> r.name()).toList());
            assertEquals(3, RunComparison.load(server, experiment, null).runs().size());
            TrackingException e = assertThrows(TrackingException.class,
                    () -> RunComparison.load(server, experiment, null, Map.of("chain", "c")));
            assertTrue(e.getMessage().endsWith("has no runs tagged {chain=c}"), e.getMessage());
        }
    }

    @Test
    void tableShowsDifferingParamsAndFinalAndBestMetricsAndPlotIsDrawn() throws Exception {
        URI uri = MlflowTestServer.uri();
        String experiment = "compare-" + UUID.randomUUID();
        train(uri, experiment, "lr-low", 1e-4);
        train(uri, experiment, "lr-high", 4e-4);
        try (MlflowServer server = MlflowServer.connect(uri, MlflowTimeouts.DEFAULT)) {
            RunComparison c = RunComparison.load(server, experiment, null);
            assertEquals(List.of("lr-low", "lr-high"), c.runs().stream().map(r -> r.name()).toList());
            assertEquals(List.of("train.lr"), c.differingParams());
            assertEquals(List.of("eval_loss", "loss"), c.metrics());
            assertEquals("eval_loss", c.metric());
            RunComparison.Best best = c.best(c.runs().get(1).runId());
            assertEquals(2.0 - 0.8 + 0.1, best.value(), 1e-12);
            assertEquals(20, best.step());

            String table = c.table();
            assertTrue(table.lines().anyMatch(l -> l.matches("train\\.lr\\s+1\\.0E-4\\s+4\\.0E-4")), table);
            assertTrue(table.lines().anyMatch(l -> l.matches("loss \\(final\\)\\s+1\\.89\\s+1\\.29")), table);
            assertTrue(table.lines().anyMatch(l -> l.matches("eval_loss \\(best, min\\)\\s+1\\.9 @20\\s+1\\.3 @20")),
                    table);
            assertTrue(table.lines().noneMatch(l -> l.startsWith("train.batch_size")), table);

            Path png = dir.resolve("eval_loss.png");
            MetricPlot.write(c, png);
            assertEquals(1000, ImageIO.read(png.toFile()).getWidth());

            String list = RunList.table(server, experiment);
            assertTrue(list.lines().anyMatch(l -> l.contains("lr-high") && l.contains("FINISHED")), list);
            assertEquals(4, list.lines().count(), list); // header, rule, two runs

            TrackingException e = assertThrows(TrackingException.class,
                    () -> RunComparison.load(server, experiment, "accuracy"));
            assertTrue(e.getMessage().startsWith("--metric accuracy: no run of"), e.getMessage());
            e = assertThrows(TrackingException.class, () -> RunComparison.load(server, "no-such-" + experiment, null));
            assertTrue(e.getMessage().startsWith("no MLflow experiment named"), e.getMessage());
        }
    }
}
