package org.llamawb.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.llamawb.finetune.checkpoint.CheckpointStore;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.finetune.train.Trainer;
import org.llamawb.model.TestData;
import org.llamawb.tracking.DatasetInput;
import org.llamawb.tracking.RunLog;

/**
 * DPO (reference on the fly and precomputed), KTO and the reward model on stories260K, LoRA with adapter dropout, a
 * global batch of 4 micro-batches of 2: two executor JVMs of one {@code local-cluster[2,1,1024]} (each running 2 of the
 * 4 micro-batches) give the single process's per-step losses, the method's logged metrics (TRL's names, averaged over
 * the micro-batches, KTO's {@code kl} among them), the held-out loss and the final adapter (the reward model's score
 * head with it), and the driver logs each worker's system metrics with the step's.
 */
class DataParallelPreferenceTest {
    static final double TOLERANCE = 1e-5;
    /**
     * The two runs add the same gradients in another order ((g0 + g1) + g2) + g3 against (g0 + g2) + (g1 + g3)), and
     * AdamW's first steps move a weight by about the learning rate whatever the size of its gradient, so a weight whose
     * gradient is a near cancellation moves by amounts that differ by a fraction of the rate (KTO at 3e-3: 3 of 23,184
     * adapter weights 1.2e-5 to 4.8e-5 apart; one worker, adding in one process's order, gives the same bits). At this
     * rate that noise stays under the tolerance, and a wrong gradient still moves weights by the whole rate.
     */
    static final double LEARNING_RATE = 3e-4;
    /** What the driver logs of each worker every step, beside {@code data_parallel/worker_N_seconds}. */
    static final List<String> WORKER_METRICS = List.of("seconds", "cpu_seconds", "peak_rss_mib", "heap_used_mib");

    @TempDir
    static Path tmp;

    static JavaSparkContext sc;
    static int driverThreads;

    @BeforeAll
    static void oneApplicationForEveryMethod() {
        // two executors share this machine's cores; the single process computes with as many intra-op threads as
        // each of them, so that the first step's passes agree to the bit: with the policy equal to the reference,
        // DPO's rewards are zero give or take rounding, and an accuracy (chosen reward strictly above the rejected)
        // counts rounding noise, which another thread count rounds otherwise
        System.setProperty("spark.executor.extraJavaOptions", "-Dai.djl.pytorch.num_threads=1");
        Engine.getInstance(); // loads libtorch
        driverThreads = JniUtils.getNumThreads();
        JniUtils.setNumThreads(1);
        String master = "local-cluster[2,1,1024]";
        sc = new JavaSparkContext(org.apache.spark.SparkContext.getOrCreate(SparkGradients.conf(master, true)));
        assertEquals(2, SparkGradients.awaitWorkers(sc, master));
    }

    @AfterAll
    static void stop() {
        if (sc != null) {
            sc.stop();
        }
        System.clearProperty("spark.executor.extraJavaOptions");
        if (driverThreads > 0) {
            JniUtils.setNumThreads(driverThreads);
        }
    }

    /** 40 sums: preference pairs (right over wrong) or KTO examples (alternately right and wrong). */
    static Path data(String format) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            int a = 2 + i % 7;
            int b = 3 + i / 7;
            String prompt = "What is " + a + " plus " + b + "?";
            String right = "It is " + (a + b) + ".";
            String wrong = "It is " + (a + b + 1 + i % 3) + ".";
            sb.append(format.equals("kto")
                    ? "{\"messages\": [{\"role\": \"user\", \"content\": \"" + prompt + "\"}, {\"role\": \"assistant\", "
                            + "\"content\": \"" + (i % 2 == 0 ? right : wrong) + "\"}], \"label\": " + (i % 2 == 0) + "}"
                    : "{\"prompt\": \"" + prompt + "\", \"chosen\": \"" + right + "\", \"rejected\": \"" + wrong + "\"}")
                    .append('\n');
        }
        return Files.writeString(tmp.resolve(format + ".jsonl"), sb.toString());
    }

    static Recipe recipe(String method, String format, Path out, List<String> extra) throws IOException {
        Path model = TestData.require("models/stories260K/stories260K.bin");
        Path minimal = Files.writeString(tmp.resolve("r.yaml"), "model: {path: x}\ndata: {sources: [{path: x}]}\n");
        var tree = RecipeLoader.readTree(minimal);
        List<String> overrides = new ArrayList<>(List.of("method=" + method, "model.path=" + model,
                "data.sources=[{path: " + data(format) + ", format: " + format + "}]", "data.max_length=256",
                "data.validation_fraction=0.2", "adapter.type=lora", "adapter.r=4", "adapter.alpha=8", "adapter.dropout=0.1",
                "adapter.target_modules=all-linear", "train.max_steps=2", "train.micro_batch_size=2",
                "train.gradient_accumulation_steps=4", "train.learning_rate=" + LEARNING_RATE, "train.lr_schedule=constant",
                "train.max_grad_norm=1.0", "train.seed=5", "eval.every_steps=0", "eval.on_start=false", "eval.max_batches=2",
                "output.dir=" + out, "output.save_every_steps=2"));
        overrides.addAll(extra);
        overrides.forEach(s -> RecipeLoader.applyOverride(tree, s));
        return RecipeLoader.bind(tree, Recipe.class, "test");
    }

    /** A run log that keeps the metrics by step. */
    static final class Metrics implements RunLog {
        final Map<Long, Map<String, Double>> byStep = new TreeMap<>();

        @Override
        public void logMetrics(Map<String, ? extends Number> metrics, long step) {
            Map<String, Double> at = byStep.computeIfAbsent(step, s -> new LinkedHashMap<>());
            metrics.forEach((k, v) -> at.put(k, v.doubleValue()));
        }

        @Override
        public void logParams(Map<String, ?> params) { }

        @Override
        public void setTag(String key, String value) { }

        @Override
        public void logInput(DatasetInput in) { }

        @Override
        public void logArtifact(Path file, String artifactDir) { }

        @Override
        public void logArtifacts(Path dir, String artifactDir) { }

        @Override
        public void logText(String text, String artifactPath) { }

        @Override
        public void finish() { }

        @Override
        public void fail(Throwable error) { }

        @Override
        public void close() { }
    }

    static Trainer.Result train(Recipe r, SparkGradients parallel, Metrics metrics, ByteArrayOutputStream log) {
        try {
            Trainer.Options o = new Trainer.Options(r, false, metrics, new PrintStream(log, true));
            return Trainer.run(parallel == null ? o : o.withParallel(parallel));
        } catch (RuntimeException e) {
            throw new AssertionError(e.getMessage() + "\n" + log, e);
        }
    }

    /** Equal within {@link #TOLERANCE}, relative to values above 1 (summed log-probabilities run to tens). */
    static boolean close(double a, double b) {
        return Math.abs(a - b) <= TOLERANCE * Math.max(1, Math.abs(a));
    }

    @ParameterizedTest(name = "{0} {2}")
    @CsvSource({"dpo, preference, '', rewards/accuracies", "dpo, preference, dpo.precompute_ref_log_probs=true, rewards/margins",
            "kto, kto, '', kl", "reward, preference, '', accuracy"})
    void twoExecutorsGiveTheSingleProcessLossesMetricsAndAdapter(String method, String format, String extra, String metric)
            throws IOException {
        List<String> overrides = extra.isEmpty() ? List.of() : List.of(extra);
        String name = method + (extra.isEmpty() ? "" : "-precomputed");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Metrics singleMetrics = new Metrics();
        long t0 = System.nanoTime();
        Trainer.Result one = train(recipe(method, format, tmp.resolve(name + "-single"), overrides), null, singleMetrics, log);
        long t1 = System.nanoTime();

        Recipe spread = recipe(method, format, tmp.resolve(name + "-spark"), overrides);
        Metrics sparkMetrics = new Metrics();
        Trainer.Result two;
        try (SparkGradients spark = SparkGradients.on(sc, 2, spread, new PrintStream(log, true))) {
            two = train(spread, spark, sparkMetrics, log);
        }
        System.out.printf("%s: single process %.1f s, two executors %.1f s%n", name, (t1 - t0) / 1e9,
                (System.nanoTime() - t1) / 1e9);
        int steps = 2;
        assertEquals(steps, two.steps(), log.toString());
        for (int i = 0; i < steps; i++) {
            assertTrue(close(one.losses().get(i), two.losses().get(i)),
                    "loss of step " + (i + 1) + ": " + one.losses().get(i) + " vs " + two.losses().get(i) + "\n" + log);
        }
        assertTrue(Double.isFinite(one.losses().get(steps - 1)) && one.losses().get(0) > 0, one.losses().toString());
        assertTrue(close(one.evalLosses().get((long) steps), two.evalLosses().get((long) steps)), "held-out loss");

        // every metric the single process logs, at every step (its throughput aside), the method's own among them
        assertTrue(singleMetrics.byStep.get(1L).containsKey(metric), singleMetrics.byStep.toString());
        assertEquals(singleMetrics.byStep.keySet(), sparkMetrics.byStep.keySet());
        singleMetrics.byStep.forEach((step, expected) -> {
            Map<String, Double> got = sparkMetrics.byStep.get(step);
            expected.forEach((k, v) -> {
                if (!k.equals("tokens_per_second")) {
                    assertTrue(got.containsKey(k) && close(v, got.get(k)), "step " + step + " " + k + ": " + v + " vs " + got.get(k));
                }
            });
            Set<String> extraKeys = new java.util.TreeSet<>(got.keySet());
            extraKeys.removeAll(expected.keySet());
            extraKeys.removeIf(k -> k.startsWith("data_parallel/"));
            assertTrue(extraKeys.isEmpty(), "the data-parallel run logged no other metric: " + extraKeys);
        });
        // each worker's time and system metrics, with the step's
        Map<String, Double> first = sparkMetrics.byStep.get(1L);
        for (int w = 0; w < 2; w++) {
            for (String m : WORKER_METRICS) {
                String key = "data_parallel/worker_" + w + "_" + m;
                assertTrue(first.containsKey(key) && first.get(key) > 0, key + " in " + first);
            }
        }

        Map<String, float[]> a = CheckpointStore.readTensors(one.output().resolve("adapter_model.safetensors"));
        Map<String, float[]> b = CheckpointStore.readTensors(two.output().resolve("adapter_model.safetensors"));
        assertEquals(a.keySet(), b.keySet());
        assertEquals(method.equals("reward"), a.keySet().stream().anyMatch(k -> k.endsWith("score.weight")), a.keySet().toString());
        double worst = 0;
        String worstAt = "";
        double moved = 0;
        for (String k : a.keySet()) {
            for (int i = 0; i < a.get(k).length; i++) {
                double d = Math.abs(a.get(k)[i] - b.get(k)[i]);
                if (d > worst) {
                    worst = d;
                    worstAt = k + "[" + i + "] " + a.get(k)[i] + " vs " + b.get(k)[i];
                }
                if (k.contains("lora_B")) {
                    moved = Math.max(moved, Math.abs(a.get(k)[i])); // lora_B starts at zero
                }
            }
        }
        assertTrue(moved > LEARNING_RATE, "the adapter trained: " + moved); // AdamW's first steps: about the rate each
        assertTrue(worst <= TOLERANCE, "largest weight difference " + worst + " at " + worstAt + "\n" + log);
        assertTrue(Files.isDirectory(tmp.resolve(name + "-spark").resolve(CheckpointStore.PREFIX + "000002")),
                "the driver wrote the checkpoint");
    }
}
