package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.tracking.RunSpec;
import org.llamawb.tracking.TrackedRun;
import org.llamawb.tracking.Tracker;
import org.llamawb.tracking.TrackingSettings;

class RunsCommandsTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        Workbench wb = new Workbench(List.of(new RunsListCommand(o), new RunsCompareCommand(o), new RunsSyncCommand(o)));
        return wb.run(args, new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void missingExperimentIsAUsageError() {
        assertEquals(2, run("runs", "compare", "--tracking-uri", "http://127.0.0.1:1"));
        assertEquals("error: Missing required option: experiment (workbench runs compare --help)\n", err());
    }

    @Test
    void aTagWithoutAValueIsAUsageError() {
        assertEquals(2, run("runs", "compare", "--experiment", "x", "--tag", "chain", "--tracking-uri", "http://127.0.0.1:1"));
        assertEquals("error: --tag chain: expected KEY=VALUE, e.g. --tag chain=stories260k\n", err());
    }

    @Test
    void helpNeedsNoRequiredFlags() {
        assertEquals(0, run("runs", "compare", "--help"));
        assertTrue(out().startsWith("usage: workbench runs compare --experiment E"), out());
        assertTrue(out().contains("--plot <PNG>"), out());
    }

    @Test
    void aMalformedTrackingUriIsOneLine() {
        assertEquals(2, run("runs", "list", "--tracking-uri", "file:///tmp/mlruns"));
        assertTrue(err().startsWith("error: --tracking-uri: 'file:///tmp/mlruns' is not an MLflow server URI"), err());
        assertEquals(1, err().lines().count(), err());
    }

    @Test
    void anUnreachableServerIsOneLineNotATrace() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        assertEquals(2, run("runs", "list", "--tracking-uri", "http://127.0.0.1:" + port));
        assertTrue(err().startsWith("error: MLflow at http://127.0.0.1:" + port), err());
        assertTrue(err().contains("server not reachable"), err());
        assertEquals(1, err().lines().count(), err());
    }

    @Test
    void syncWithoutAServerSaysHowToGetOne() throws Exception {
        assumeTrue(System.getenv("MLFLOW_TRACKING_URI") == null, "MLFLOW_TRACKING_URI is set in this environment");
        Files.createDirectories(dir.resolve("runs"));
        new Tracker(TrackingSettings.journalOnly("e").withSystemMetricsInterval(Duration.ZERO).withNotices(n -> { }))
                .start(RunSpec.of(dir.resolve("runs/a"), "a")).finish();
        assertEquals(2, run("runs", "sync", "--dir", dir.resolve("runs").toString()));
        assertTrue(err().startsWith("error: no MLflow server: pass --tracking-uri"), err());
        assertTrue(err().contains("mlflow server --host 127.0.0.1 --port 5000"), err());
    }

    @Test
    void syncOfADirectoryWithoutJournalsIsAUserError() {
        assertEquals(2, run("runs", "sync", "--dir", dir.toString(), "--tracking-uri", "http://127.0.0.1:1"));
        assertTrue(err().startsWith("error: " + dir + ": no run journals"), err());
    }

    @Test
    void journaledRunsSyncThenListAndCompare() throws Exception {
        String uri = System.getenv("WORKBENCH_TEST_MLFLOW_URI");
        assumeTrue(uri != null && !uri.isBlank(), "no MLflow server: set WORKBENCH_TEST_MLFLOW_URI (.ci/run does)");
        String experiment = "cli-" + UUID.randomUUID();
        for (String name : List.of("r8", "r16")) {
            TrackedRun run = new Tracker(TrackingSettings.journalOnly(experiment)
                    .withSystemMetricsInterval(Duration.ZERO).withNotices(n -> { }))
                    .start(RunSpec.of(dir.resolve("runs/" + name), name));
            run.logParams(Map.of("adapter.r", name.substring(1), "train.lr", "2.0E-4"));
            for (int step = 0; step < 10; step++) {
                run.logMetric("loss", 2.0 / (step + 1) + (name.equals("r8") ? 0.1 : 0), step);
            }
            run.finish();
        }

        assertEquals(0, run("runs", "sync", "--dir", dir.resolve("runs").toString(), "--tracking-uri", uri), err());
        assertEquals(2, out().lines().filter(l -> l.contains("sent 14 events")).count(), out());
        out.reset();
        assertEquals(0, run("runs", "sync", "--dir", dir.resolve("runs").toString(), "--tracking-uri", uri), err());
        assertEquals(2, out().lines().filter(l -> l.contains("already synced")).count(), out());

        out.reset();
        assertEquals(0, run("runs", "list", "--experiment", experiment, "--tracking-uri", uri), err());
        assertTrue(out().lines().anyMatch(l -> l.startsWith(experiment) && l.contains("r16") && l.contains("FINISHED")),
                out());

        out.reset();
        Path png = dir.resolve("loss.png");
        assertEquals(0, run("runs", "compare", "--experiment", experiment, "--metric", "loss", "--plot", png.toString(),
                "--tracking-uri", uri), err());
        assertTrue(out().lines().anyMatch(l -> l.matches("adapter\\.r\\s+8\\s+16")), out());
        assertTrue(out().lines().noneMatch(l -> l.startsWith("train.lr")), out());
        assertTrue(out().lines().anyMatch(l -> l.matches("loss \\(best, min\\)\\s+0\\.3 @9\\s+0\\.2 @9")), out());
        assertTrue(out().contains("plot of loss written to " + png), out());
        assertEquals(1000, ImageIO.read(png.toFile()).getWidth());
    }
}
