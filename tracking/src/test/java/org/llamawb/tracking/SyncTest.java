package org.llamawb.tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.tracking.mlflow.ArtifactFile;
import org.llamawb.tracking.mlflow.MetricPoint;
import org.llamawb.tracking.mlflow.MlflowServer;
import org.llamawb.tracking.mlflow.MlflowTimeouts;
import org.llamawb.tracking.mlflow.RemoteRun;

/**
 * {@code runs sync} of journal-only runs against a real server: a partial sync followed by a full one,
 * and a sync whose acknowledgement record was lost, leave every value on the server exactly once.
 */
class SyncTest {

    @TempDir
    Path dir;

    private static final int STEPS = 50;

    private Path journalOnlyRun(String experiment, String name) throws Exception {
        Path out = dir.resolve("runs").resolve(name);
        Files.createDirectories(out.resolve("adapter"));
        Files.writeString(out.resolve("adapter/adapter_config.json"), "{\"r\": 4}");
        List<String> notices = new ArrayList<>();
        TrackedRun run = new Tracker(TrackingSettings.journalOnly(experiment).withSystemMetricsInterval(Duration.ZERO)
                .withNotices(notices::add)).start(RunSpec.of(out, name).withMethod("dpo"));
        run.logParams(Params.flatten(MlflowRoundTripTest.recipe(1e-4)));
        run.logInput(new DatasetInput("prefs", "d1g3st", "hf://datasets/x", "hf", 10, "training"));
        for (int step = 0; step < STEPS; step++) {
            run.logMetrics(Map.of("loss", 1.0 / (step + 1), "rewards/chosen", step * 0.1, "rewards/rejected",
                    -step * 0.1), step);
        }
        run.logMetric("eval_loss", Double.NaN, STEPS);
        run.logArtifacts(out.resolve("adapter"), "adapter");
        run.finish();
        assertTrue(notices.stream().anyMatch(n -> n.contains("workbench runs sync --dir")), notices.toString());
        return out;
    }

    private static void assertEachValueOnce(MlflowServer server, String runId) {
        for (String key : List.of("loss", "rewards/chosen", "rewards/rejected")) {
            List<MetricPoint> h = new ArrayList<>(server.metricHistory(runId, key));
            assertEquals(STEPS, h.size(), key + " has " + h.size() + " values");
            h.sort((a, b) -> Long.compare(a.step(), b.step()));
            for (int step = 0; step < STEPS; step++) {
                assertEquals(step, h.get(step).step(), key);
            }
            assertEquals(1.0 / 50, server.metricHistory(runId, "loss").stream()
                    .filter(p -> p.step() == 49).findFirst().orElseThrow().value(), 0.0);
        }
        List<MetricPoint> eval = server.metricHistory(runId, "eval_loss");
        assertEquals(1, eval.size());
        assertTrue(Double.isNaN(eval.get(0).value()));
    }

    @Test
    void partialThenFullSyncSendsEverythingOnce() throws Exception {
        URI uri = MlflowTestServer.uri();
        String experiment = "sync-" + UUID.randomUUID();
        Path out = journalOnlyRun(experiment, "dpo-a");
        try (MlflowServer server = MlflowServer.connect(uri, MlflowTimeouts.DEFAULT)) {
            JournalSync.Report first = JournalSync.sync(out, server, 40);
            assertFalse(first.complete());
            assertEquals(40, first.sent());
            RemoteRun partial = server.getRun(first.runId());
            assertEquals("RUNNING", partial.status());

            List<JournalSync.Report> all = JournalSync.syncAll(dir.resolve("runs"), server);
            assertEquals(1, all.size());
            JournalSync.Report second = all.get(0);
            assertNull(second.problem(), second.problem());
            assertEquals(first.runId(), second.runId());
            assertEquals(second.total(), first.sent() + second.sent());

            RemoteRun r = server.getRun(second.runId());
            assertEquals("FINISHED", r.status());
            assertEquals("dpo", r.tags().get("method"));
            assertEquals(Params.flatten(MlflowRoundTripTest.recipe(1e-4)), r.params());
            assertEquals("{\"num_rows\":10}", r.inputs().get(0).profile());
            assertEquals(List.of("adapter/adapter_config.json"),
                    server.listArtifacts(r.runId(), "adapter").stream().map(ArtifactFile::path).toList());
            assertEachValueOnce(server, r.runId());

            // Nothing left: a third sync sends nothing.
            JournalSync.Report third = JournalSync.sync(out, server, Long.MAX_VALUE);
            assertEquals(0, third.sent());
            assertTrue(third.complete());
            assertEachValueOnce(server, r.runId());
        }
    }

    @Test
    void aLostAcknowledgementRecordDuplicatesNothing() throws Exception {
        URI uri = MlflowTestServer.uri();
        String experiment = "sync-lost-" + UUID.randomUUID();
        Path out = journalOnlyRun(experiment, "dpo-b");
        try (MlflowServer server = MlflowServer.connect(uri, MlflowTimeouts.DEFAULT)) {
            JournalSync.Report first = JournalSync.sync(out, server, Long.MAX_VALUE);
            assertTrue(first.complete(), first.problem());
            // As if the process died after the server took everything but before the record was written.
            Files.delete(out.resolve("tracking/delivery.json"));
            JournalSync.Report again = JournalSync.sync(out, server, Long.MAX_VALUE);
            assertTrue(again.complete(), again.problem());
            assertEquals(first.runId(), again.runId(), "the replay must find the run it created, not make a new one");
            String expId = server.experiment(experiment).orElseThrow().id();
            assertEquals(1, server.searchRuns(List.of(expId), "").size());
            assertEachValueOnce(server, first.runId());
        }
    }
}
