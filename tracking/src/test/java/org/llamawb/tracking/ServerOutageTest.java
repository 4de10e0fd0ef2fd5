package org.llamawb.tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.tracking.mlflow.ArtifactFile;
import org.llamawb.tracking.mlflow.MetricPoint;
import org.llamawb.tracking.mlflow.MlflowServer;
import org.llamawb.tracking.mlflow.MlflowTimeouts;
import org.llamawb.tracking.mlflow.RemoteRun;

/**
 * The server is killed (SIGKILL) in the middle of a run: training goes on, the journal keeps everything,
 * and after the server restarts on the same store, {@code runs sync} completes the run with every value
 * present exactly once.
 */
class ServerOutageTest {

    @TempDir
    Path dir;

    @Test
    void aServerKilledMidRunLosesNothingAfterSync() throws Exception {
        Path exe = MlflowTestServer.executable();
        int port = MlflowTestServer.freePort();
        Path store = dir.resolve("store");
        Path out = dir.resolve("runs/outage");
        List<String> notices = new ArrayList<>();
        MlflowTimeouts quick = new MlflowTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofSeconds(10));

        try (MlflowTestServer.OwnServer server = new MlflowTestServer.OwnServer(exe, store, port).start()) {
            TrackingSettings settings = TrackingSettings.defaults(Optional.of(server.uri()), "outage")
                    .withSystemMetricsInterval(Duration.ZERO).withFlushInterval(Duration.ofMillis(100))
                    .withCloseGrace(Duration.ofSeconds(2)).withTimeouts(quick).withNotices(notices::add);
            TrackedRun run = new Tracker(settings).start(RunSpec.of(out, "outage").withMethod("sft"));
            run.logParams(Map.of("train.lr", "3.0E-4", "train.steps", "50"));
            for (int step = 0; step < 20; step++) {
                run.logMetrics(Map.of("loss", 2.0 - step * 0.01, "learning_rate", 3e-4), step);
            }
            assertTrue(run.awaitDelivery(Duration.ofSeconds(30)), "first 20 steps never reached the server: " + notices);
            String runId = run.mlflowRunId().orElseThrow();

            server.kill();
            long t0 = System.nanoTime();
            for (int step = 20; step < 50; step++) {
                run.logMetrics(Map.of("loss", 2.0 - step * 0.01, "learning_rate", 3e-4), step);
                Thread.sleep(10);
            }
            Files.createDirectories(out.resolve("adapter"));
            Files.writeString(out.resolve("adapter/adapter_config.json"), "{\"r\": 8}");
            run.logArtifacts(out.resolve("adapter"), "adapter");
            // Logging went on at local speed while the server was down (30 steps slept 0.3 s).
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertTrue(seconds < 5, "logging during the outage took " + seconds + " s");
            run.finish();
            assertTrue(run.pendingEvents() > 0);
            assertTrue(notices.stream().anyMatch(n -> n.contains("training goes on")), notices.toString());
            assertTrue(notices.stream().anyMatch(n -> n.contains("workbench runs sync --dir " + out.toAbsolutePath())),
                    notices.toString());

            server.start();
            try (MlflowServer mlflow = MlflowServer.connect(server.uri(), MlflowTimeouts.DEFAULT)) {
                JournalSync.Report report = JournalSync.sync(out, mlflow, Long.MAX_VALUE);
                assertTrue(report.complete(), report.problem());
                assertEquals(runId, report.runId());
                JournalSync.sync(out, mlflow, Long.MAX_VALUE); // a second sync changes nothing

                RemoteRun r = mlflow.getRun(runId);
                assertEquals("FINISHED", r.status());
                assertEquals(Map.of("train.lr", "3.0E-4", "train.steps", "50"), r.params());
                for (String key : List.of("loss", "learning_rate")) {
                    List<MetricPoint> h = new ArrayList<>(mlflow.metricHistory(runId, key));
                    assertEquals(50, h.size(), key);
                    h.sort((a, b) -> Long.compare(a.step(), b.step()));
                    for (int step = 0; step < 50; step++) {
                        assertEquals(step, h.get(step).step());
                    }
                }
                List<MetricPoint> loss = new ArrayList<>(mlflow.metricHistory(runId, "loss"));
                loss.sort((a, b) -> Long.compare(a.step(), b.step()));
                assertEquals(2.0 - 49 * 0.01, loss.get(49).value(), 0.0);
                assertEquals(List.of("adapter/adapter_config.json"),
                        mlflow.listArtifacts(runId, "adapter").stream().map(ArtifactFile::path).toList());
            }
        }
    }
}
