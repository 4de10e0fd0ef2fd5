package org.llamawb.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.finetune.checkpoint.CheckpointStore;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.finetune.train.ParallelGradients;
import org.llamawb.finetune.train.Trainer;
import org.llamawb.model.TestData;
import org.llamawb.tracking.RunSpec;
import org.llamawb.tracking.TrackedRun;
import org.llamawb.tracking.Tracker;
import org.llamawb.tracking.TrackingSettings;

/**
 * SFT of the pretrained stories260K with a global batch of 4 micro-batches, LoRA (with adapter dropout on, so each
 * micro-batch must also get the single process's dropout seed) and full fine-tuning: two executor JVMs of a
 * {@code local-cluster[2,1,1024]} (each running 2 of the 4) give the single process's per-step losses, held-out
 * loss and final weights, and the driver writes the checkpoints.
 */
class DataParallelSftTest {
    static final double TOLERANCE = 1e-5;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void oneIntraOpThreadPerExecutor() {
        // two executors share this machine's cores; the values do not depend on it (checked below)
        System.setProperty("spark.executor.extraJavaOptions", "-Dai.djl.pytorch.num_threads=1");
    }

    @AfterAll
    static void clear() {
        System.clearProperty("spark.executor.extraJavaOptions");
    }

    /** 48 small instruction/answer pairs in Alpaca form, of different lengths. */
    static Path data() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 48; i++) {
            int a = 2 + i % 7;
            int b = 3 + i / 7;
            sb.append("{\"instruction\": \"What is ").append(a).append(" plus ").append(b).append("?\", \"input\": \"\", ")
                    .append("\"output\": \"").append("It is ".repeat(1 + i % 3)).append(a + b).append(".\"}\n");
        }
        return Files.writeString(tmp.resolve("sums.jsonl"), sb.toString());
    }

    static Recipe recipe(Path data, Path out, int steps, boolean lora) throws IOException {
        Path model = TestData.require("models/stories260K/stories260K.bin");
        Path minimal = Files.writeString(tmp.resolve("r.yaml"), "model: {path: x}\ndata: {sources: [{path: x}]}\n");
        var tree = RecipeLoader.readTree(minimal);
        List<String> adapter = lora
                ? List.of("adapter.type=lora", "adapter.r=4", "adapter.alpha=8", "adapter.dropout=0.1",
                        "adapter.target_modules=all-linear")
                : List.of("adapter.type=none");
        adapter.forEach(s -> RecipeLoader.applyOverride(tree, s));
        for (String s : List.of("method=sft", "model.path=" + model, "data.sources=[{path: " + data + ", format: alpaca}]",
                "data.max_length=256", "data.template=vicuna_v1.1", "data.validation_fraction=0.1", "train.max_steps=" + steps,
                "train.micro_batch_size=2", "train.gradient_accumulation_steps=4",
                // AdamW moves a weight whose gradient is mere float noise by up to the learning rate, in either
                // direction, whatever adds the gradients up; with every weight trained that bounds the two runs'
                // difference, so full fine-tuning runs at a rate whose noise stays under the tolerance
                "train.learning_rate=" + (lora ? "3e-3" : "1e-4"),
                "train.lr_schedule=constant", "train.max_grad_norm=1.0", "train.seed=5", "eval.every_steps=0",
                "eval.on_start=false", "eval.max_batches=2", "output.dir=" + out, "output.save_every_steps=2")) {
            RecipeLoader.applyOverride(tree, s);
        }
        return RecipeLoader.bind(tree, Recipe.class, "test");
    }

    static TrackedRun journalOnly(Path out) {
        return new Tracker(TrackingSettings.journalOnly("test").withSystemMetricsInterval(Duration.ZERO).withNotices(s -> { }))
                .start(RunSpec.of(out, out.getFileName().toString()));
    }

    static Trainer.Result train(Recipe r, ParallelGradients parallel, ByteArrayOutputStream log) {
        try (TrackedRun run = journalOnly(Path.of(r.output().dir()))) {
            Trainer.Options o = new Trainer.Options(r, false, run, new PrintStream(log, true));
            return Trainer.run(parallel == null ? o : o.withParallel(parallel));
        } catch (RuntimeException e) {
            throw new AssertionError(e.getMessage() + "\n" + log, e);
        }
    }

    @ParameterizedTest(name = "lora {0}")
    @ValueSource(booleans = {true, false})
    void twoExecutorsGiveTheSingleProcessLossesAndWeights(boolean lora) throws IOException {
        Path data = data();
        int steps = 2;
        String kind = lora ? "lora" : "full";
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Recipe single = recipe(data, tmp.resolve(kind + "-single"), steps, lora);
        long t0 = System.nanoTime();
        Trainer.Result one = train(single, null, log);
        long t1 = System.nanoTime();

        Recipe spread = recipe(data, tmp.resolve(kind + "-spark"), steps, lora);
        Trainer.Result two;
        try (ParallelGradients spark = new SparkEngine().connect("local-cluster[2,1,1024]", 0, spread,
                new PrintStream(log, true))) {
            assertEquals(2, spark.workers());
            two = train(spread, spark, log);
        }
        long t2 = System.nanoTime();
        System.out.printf("%s: single process %.1f s, two executors %.1f s%n", kind, (t1 - t0) / 1e9, (t2 - t1) / 1e9);
        assertEquals(steps, two.steps(), log.toString());
        for (int i = 0; i < steps; i++) {
            assertEquals(one.losses().get(i), two.losses().get(i), TOLERANCE, "loss of step " + (i + 1) + "\n" + log);
        }
        assertTrue(one.losses().get(0) > 0 && Double.isFinite(one.losses().get(steps - 1)));
        String file = lora ? "adapter_model.safetensors" : "model.safetensors";
        Map<String, float[]> a = CheckpointStore.readTensors(one.output().resolve(file));
        Map<String, float[]> b = CheckpointStore.readTensors(two.output().resolve(file));
        assertEquals(a.keySet(), b.keySet());
        double worst = 0;
        double moved = 0;
        for (String k : a.keySet()) {
            for (int i = 0; i < a.get(k).length; i++) {
                worst = Math.max(worst, Math.abs(a.get(k)[i] - b.get(k)[i]));
                if (k.contains("lora_B")) {
                    moved = Math.max(moved, Math.abs(a.get(k)[i])); // lora_B starts at zero
                }
            }
        }
        assertTrue(!lora || moved > 1e-3, "the adapter trained");
        assertTrue(worst <= TOLERANCE, "largest weight difference " + worst + "\n" + log);
        assertTrue(Files.isDirectory(tmp.resolve(kind + "-spark").resolve(CheckpointStore.PREFIX + "000002")), "the driver wrote the checkpoint");
        assertEquals(one.evalLosses().get((long) steps), two.evalLosses().get((long) steps), TOLERANCE);
    }

    /**
     * An executor JVM killed (SIGKILL) once the first step is logged: Spark runs the lost task again on an executor
     * that opens its replica afresh from the driver's values, and the run ends with the single process's losses and
     * adapter, not a silently different one.
     */
    @Test
    void anExecutorKilledMidRunChangesNothing() throws Exception {
        Path data = data();
        int steps = 3;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Trainer.Result one = train(recipe(data, tmp.resolve("kill-single"), steps, true), null, log);

        Recipe spread = recipe(data, tmp.resolve("kill-spark"), steps, true);
        AtomicReference<Object> outcome = new AtomicReference<>();
        boolean killed;
        try (ParallelGradients spark = new SparkEngine().connect("local-cluster[2,1,1024]", 0, spread,
                new PrintStream(log, true))) {
            Thread t = new Thread(() -> {
                try {
                    outcome.set(train(spread, spark, log));
                } catch (Throwable e) {
                    outcome.set(e);
                }
            });
            t.start();
            long until = System.currentTimeMillis() + 600_000;
            while (!log.toString().contains("step 1/" + steps) && t.isAlive() && System.currentTimeMillis() < until) {
                Thread.sleep(50);
            }
            // local-cluster's workers run in this JVM: the executors are the java processes it started
            Optional<ProcessHandle> executor = ProcessHandle.current().descendants()
                    .filter(p -> p.info().command().map(c -> c.endsWith("java")).orElse(false))
                    .findFirst();
            killed = executor.isPresent() && executor.get().destroyForcibly();
            t.join(900_000);
        }
        assertTrue(killed, "an executor of the application was found and killed\n" + log);
        if (outcome.get() instanceof Throwable e) {
            throw new AssertionError(e.getMessage() + "\n" + log, e);
        }
        Trainer.Result two = (Trainer.Result) outcome.get();
        assertEquals(steps, two.steps(), log.toString());
        for (int i = 0; i < steps; i++) {
            assertEquals(one.losses().get(i), two.losses().get(i), TOLERANCE, "loss of step " + (i + 1) + "\n" + log);
        }
        Map<String, float[]> a = CheckpointStore.readTensors(one.output().resolve("adapter_model.safetensors"));
        Map<String, float[]> b = CheckpointStore.readTensors(two.output().resolve("adapter_model.safetensors"));
        for (String k : a.keySet()) {
            for (int i = 0; i < a.get(k).length; i++) {
                assertEquals(a.get(k)[i], b.get(k)[i], TOLERANCE, k + "[" + i + "]");
            }
        }
    }
}
