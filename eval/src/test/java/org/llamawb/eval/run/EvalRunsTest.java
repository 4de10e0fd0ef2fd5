package org.llamawb.eval.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.eval.Repo;
import org.llamawb.eval.Stories260K;
import org.llamawb.eval.report.EvalReport;
import org.llamawb.eval.task.Task;
import org.llamawb.tracking.Tracker;
import org.llamawb.tracking.TrackingSettings;
import org.llamawb.tracking.mlflow.ArtifactFile;
import org.llamawb.tracking.mlflow.MlflowServer;
import org.llamawb.tracking.mlflow.MlflowTimeouts;
import org.llamawb.tracking.mlflow.RemoteRun;

/** Evaluation results go to the run journal and, with a server, to MLflow: params, task/metric, artifacts. */
class EvalRunsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** When {@link #evaluate} called the evaluator (after the model was loaded). */
    private long called;

    private EvalReport evaluate(TrackingSettings settings, Path out) {
        Task copa = Repo.catalog().resolve("copa");
        Evaluator e = new Evaluator(new EvalSettings(4, null, 8192, 64, org.llamawb.eval.score.Packing.TREE),
                new Tracker(settings.withSystemMetricsInterval(Duration.ZERO).withNotices(n -> { })),
                new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
        var model = Stories260K.evalModel();
        called = System.currentTimeMillis();
        return e.evaluate(model, List.of(copa), "base", null, out);
    }

    @Test
    void journalsParamsMetricsAndTheOutputFolder() throws Exception {
        assumeTrue(System.getenv(TrackingSettings.ENV_URI) == null, "MLFLOW_TRACKING_URI is set in this environment");
        Path out = tmp.resolve("eval");
        EvalReport r = evaluate(TrackingSettings.journalOnly("eval-test"), out);
        List<JsonNode> events = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("tracking/journal.jsonl"))) {
            events.add(JSON.readTree(line));
        }
        double acc = r.tasks().get(0).metrics().get("acc").value();
        assertTrue(events.stream().anyMatch(e -> "copa/acc".equals(e.path("key").asText())
                && e.path("value").asDouble(-1) == acc), events.toString());
        assertTrue(events.stream().anyMatch(e -> "copa/acc_norm_stderr".equals(e.path("key").asText())));
        assertTrue(events.stream().anyMatch(e -> "limit".equals(e.path("key").asText()) && "4".equals(e.path("value").asText())));
        assertTrue(events.stream().anyMatch(e -> e.has("artifactPath") || e.has("artifact_path")), events.toString());
        // the task's data is a dataset input (before: none), with the examples evaluated as its rows
        assertTrue(events.stream().anyMatch(e -> "input".equals(e.path("type").asText()) && "copa".equals(e.path("name").asText())
                && e.path("profile").asText().contains("\"num_rows\":4")), events.toString());
        // the run spans the evaluation (before: it was started after it, so it lasted 0 s)
        long start = events.stream().filter(e -> "start".equals(e.path("type").asText())).findFirst().orElseThrow().path("time").asLong();
        long end = events.stream().filter(e -> "status".equals(e.path("type").asText())).reduce((a, b) -> b).orElseThrow()
                .path("time").asLong();
        assertTrue(end - start >= (long) (1000 * r.tasks().get(0).seconds()), (end - start) + " ms for " + r.tasks().get(0).seconds() + " s");
        assertTrue(start - called < end - start, "the run starts " + (start - called) + " ms after the evaluation began and lasts "
                + (end - start) + " ms");
    }

    @Test
    void aRealServerShowsTheRun() throws Exception {
        String uri = System.getenv("WORKBENCH_TEST_MLFLOW_URI");
        assumeTrue(uri != null && !uri.isBlank(), "no MLflow server: set WORKBENCH_TEST_MLFLOW_URI (.ci/run does)");
        String experiment = "eval-" + UUID.randomUUID();
        EvalReport r = evaluate(TrackingSettings.defaults(Optional.of(URI.create(uri)), experiment), tmp.resolve("eval"));
        try (MlflowServer server = MlflowServer.connect(URI.create(uri), MlflowTimeouts.DEFAULT)) {
            String id = server.experiment(experiment).orElseThrow().id();
            List<RemoteRun> runs = server.searchRuns(List.of(id), "");
            assertEquals(1, runs.size());
            RemoteRun run = server.getRun(runs.get(0).runId());
            assertEquals("FINISHED", run.status());
            assertEquals(r.tasks().get(0).metrics().get("acc").value(), run.latestMetrics().get("copa/acc").value(), 1e-12);
            assertEquals("4", run.params().get("limit"));
            assertEquals("eval", run.tags().get("method"));
            List<String> files = server.listArtifacts(run.runId(), "").stream().map(ArtifactFile::path).toList();
            assertTrue(files.contains("results.json") && files.contains("report.md"), files.toString());
            assertTrue(run.inputs().stream().anyMatch(d -> d.name().equals("copa")), run.inputs().toString());
            assertTrue(run.endTime() - run.startTime() >= (long) (1000 * r.tasks().get(0).seconds()),
                    (run.endTime() - run.startTime()) + " ms");
        }
    }
}
