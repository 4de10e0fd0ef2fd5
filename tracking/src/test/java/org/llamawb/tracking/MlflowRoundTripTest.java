package org.llamawb.tracking;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.tracking.mlflow.ArtifactFile;
import org.llamawb.tracking.mlflow.MetricPoint;
import org.llamawb.tracking.mlflow.MlflowDataset;
import org.llamawb.tracking.mlflow.MlflowServer;
import org.llamawb.tracking.mlflow.MlflowTimeouts;
import org.llamawb.tracking.mlflow.RemoteRun;

/**
 * A short simulated training run, driven through the run API the way the training loops drive it, must
 * appear in a real MLflow server with every param, metric step, tag, dataset input and artifact.
 */
class MlflowRoundTripTest {

    @TempDir
    Path dir;

    /** The loop's metric values, a pure function of the step so the test can recompute them. */
    static Map<String, Double> metricsAt(int step) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("loss", 3.0 * Math.exp(-step / 20.0) + 0.01 * (step % 3));
        m.put("learning_rate", 2e-4 * Math.min(1.0, step / 5.0));
        m.put("grad_norm", 1.0 / Math.sqrt(step + 1));
        m.put("epoch", step / 25.0);
        if (step % 10 == 0) {
            m.put("eval_loss", 3.1 * Math.exp(-step / 25.0));
        }
        return m;
    }

    static Map<String, Object> recipe(double lr) {
        Map<String, Object> adapter = new LinkedHashMap<>();
        adapter.put("type", "lora");
        adapter.put("r", 8);
        adapter.put("alpha", 16.0);
        adapter.put("target_modules", List.of("q_proj", "v_proj"));
        Map<String, Object> train = new LinkedHashMap<>();
        train.put("lr", lr);
        train.put("batch_size", 4);
        train.put("schedule", Map.of("name", "cosine", "warmup_steps", 5));
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("method", "sft");
        r.put("model", Map.of("path", "models/stories260K", "dtype", "f32"));
        r.put("adapter", adapter);
        r.put("train", train);
        r.put("data", Map.of("sources", List.of(Map.of("path", "train.jsonl", "weight", 1.0))));
        return r;
    }

    @Test
    void aSimulatedTrainingRunAppearsInMlflowComplete() throws Exception {
        URI uri = MlflowTestServer.uri();
        String experiment = "roundtrip-" + UUID.randomUUID();
        List<String> notices = new ArrayList<>();
        Path out = dir.resolve("runs/sft-r8");

        // Files the loop produces: a training set, a recipe outside the run directory, an adapter directory.
        Path train = Files.writeString(dir.resolve("train.jsonl"), "{\"text\":\"a\"}\n{\"text\":\"b\"}\n");
        Path recipeYaml = Files.writeString(dir.resolve("sft.yaml"), "method: sft\ntrain:\n  lr: 2.0e-4\n");
        Path adapter = Files.createDirectories(out.resolve("adapter"));
        Files.writeString(adapter.resolve("adapter_config.json"), "{\"r\": 8, \"lora_alpha\": 16}");
        byte[] weights = new byte[300_000];
        new Random(7).nextBytes(weights);
        Files.write(adapter.resolve("adapter_model.safetensors"), weights);
        Files.createDirectories(adapter.resolve("extra/deeper"));
        Files.writeString(adapter.resolve("extra/deeper/notes with space.txt"), "deep");

        Map<String, String> params = Params.flatten(recipe(2e-4));
        String longTemplate = "{% for m in messages %}".repeat(400);
        TrackingSettings settings = TrackingSettings.defaults(Optional.of(uri), experiment)
                .withSystemMetricsInterval(Duration.ofMillis(150)).withFlushInterval(Duration.ofMillis(100))
                .withTimeouts(MlflowTimeouts.DEFAULT).withNotices(notices::add);
        RunSpec spec = RunSpec.of(out, "sft-r8").withSourceName("recipes/sft.yaml").withMethod("sft")
                .withBaseModel("stories260K").withAdapterType("lora").withNote("LoRA r=8, lr 2e-4 on 2 rows")
                .withGitCommit("0123456789abcdef0123456789abcdef01234567");

        TrackedRun run = new Tracker(settings).start(spec);
        run.logParams(params);
        run.logParam("data.template", longTemplate);
        run.logInput(DatasetInput.ofFile("train", train, 2, "training"));
        run.logArtifact(recipeYaml, "");
        for (int step = 0; step < 50; step++) {
            run.logMetrics(metricsAt(step), step);
            Thread.sleep(8); // the "training step"; lets the system-metrics sampler fire a few times
        }
        run.logArtifacts(adapter, "adapter");
        run.logText("{\"prompt\":\"Once\",\"completion\":\"upon a time\"}\n", "samples/generations.jsonl");
        run.finish();

        String runId = run.mlflowRunId().orElseThrow(() -> new AssertionError("no run id; notices: " + notices));
        assertEquals(0, run.pendingEvents(), notices.toString());
        try (MlflowServer server = MlflowServer.connect(uri, MlflowTimeouts.DEFAULT)) {
            RemoteRun r = server.getRun(runId);
            assertEquals("FINISHED", r.status());
            assertEquals("sft-r8", r.name());
            assertEquals(server.experiment(experiment).orElseThrow().id(), r.experimentId());
            assertTrue(r.endTime() >= r.startTime() && r.startTime() > 0);

            // Every param, the long one by reference.
            Map<String, String> expectedParams = new TreeMap<>(params);
            expectedParams.put("data.template", "[" + longTemplate.length()
                    + " characters, see artifact params/data.template.txt]");
            assertEquals(expectedParams, new TreeMap<>(r.params()));

            // Tags.
            Map<String, String> tags = r.tags();
            assertEquals("sft-r8", tags.get("mlflow.runName"));
            assertEquals("recipes/sft.yaml", tags.get("mlflow.source.name"));
            assertEquals("0123456789abcdef0123456789abcdef01234567", tags.get("mlflow.source.git.commit"));
            assertEquals("LoRA r=8, lr 2e-4 on 2 rows", tags.get("mlflow.note.content"));
            assertEquals("sft", tags.get("method"));
            assertEquals("stories260K", tags.get("base_model"));
            assertEquals("lora", tags.get("adapter_type"));

            // Every metric at every step, exactly once.
            Map<String, List<double[]>> expected = new TreeMap<>();
            for (int step = 0; step < 50; step++) {
                int s = step;
                metricsAt(step).forEach((k, v) -> expected.computeIfAbsent(k, x -> new ArrayList<>())
                        .add(new double[] {s, v}));
            }
            for (var e : expected.entrySet()) {
                List<MetricPoint> h = new ArrayList<>(server.metricHistory(runId, e.getKey()));
                h.sort((a, b) -> Long.compare(a.step(), b.step()));
                assertEquals(e.getValue().size(), h.size(), e.getKey());
                for (int i = 0; i < h.size(); i++) {
                    assertEquals((long) e.getValue().get(i)[0], h.get(i).step(), e.getKey());
                    assertEquals(e.getValue().get(i)[1], h.get(i).value(), 0.0, e.getKey() + " @" + h.get(i).step());
                }
            }
            assertEquals(50, server.metricHistory(runId, "loss").size());
            assertEquals(5, server.metricHistory(runId, "eval_loss").size());
            // System metrics under MLflow's names, at consecutive steps from 0.
            List<MetricPoint> cpu = server.metricHistory(runId, "system/cpu_utilization_percentage");
            assertFalse(cpu.isEmpty(), "no system metrics sampled");
            assertEquals(0, cpu.get(0).step());
            MetricPoint mem = r.latestMetrics().get("system/system_memory_usage_megabytes");
            assertTrue(mem != null && mem.value() > 0, String.valueOf(mem));
            assertTrue(r.latestMetrics().containsKey("system/system_memory_usage_percentage"));

            // The dataset input.
            assertEquals(1, r.inputs().size());
            MlflowDataset in = r.inputs().get(0);
            assertEquals("train", in.name());
            assertEquals(DatasetInput.sha256Prefix(train), in.digest());
            assertEquals("local", in.sourceType());
            assertEquals("{\"uri\":\"" + train.toAbsolutePath() + "\"}", in.source());
            assertEquals("{\"num_rows\":2}", in.profile());
            assertEquals(Map.of("mlflow.data.context", "training"), in.tags());

            // Artifacts: listing, and the adapter directory downloads byte for byte.
            assertEquals(List.of("adapter", "params", "samples", "sft.yaml"),
                    server.listArtifacts(runId, "").stream().map(ArtifactFile::path).sorted().toList());
            Path down = server.downloadArtifacts(runId, "adapter", dir.resolve("download"));
            assertEquals(tree(adapter), tree(down));
            assertArrayEquals(weights, Files.readAllBytes(down.resolve("adapter_model.safetensors")));
            Path yaml = server.downloadArtifacts(runId, "sft.yaml", dir.resolve("download"));
            assertEquals(Files.readString(recipeYaml), Files.readString(yaml));
            Path template = server.downloadArtifacts(runId, "params/data.template.txt", dir.resolve("download"));
            assertEquals(longTemplate, Files.readString(template));
            Path samples = server.downloadArtifacts(runId, "samples", dir.resolve("download"));
            assertTrue(Files.readString(samples.resolve("generations.jsonl")).contains("upon a time"));
        }
        assertTrue(notices.stream().anyMatch(n -> n.contains("/#/experiments/") && n.contains(runId)), notices.toString());
    }

    /** Relative path to content of every file under a directory. */
    static Map<String, String> tree(Path root) throws Exception {
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(Files::isRegularFile).collect(Collectors.toMap(
                    p -> root.relativize(p).toString(), p -> {
                        try {
                            return java.util.HexFormat.of().formatHex(
                                    java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    }, (a, b) -> a, TreeMap::new));
        }
    }
}
