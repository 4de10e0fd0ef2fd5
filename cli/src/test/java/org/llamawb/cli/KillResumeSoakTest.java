package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.finetune.checkpoint.CheckpointStore;
import org.llamawb.model.TestData;

/**
 * Randomised kill/resume soak (issue 17): a child JVM trains stories260K with a checkpoint after every
 * step, is killed with SIGKILL at seeded random points (right after a checkpoint appears, or a random few
 * milliseconds later: inside the next step or inside a checkpoint write), and is resumed with
 * {@code --resume} until it finishes. The final weights (the PEFT adapter for LoRA, every safetensors file of
 * the model for full fine-tuning) and the loss logged for every step must equal, bit for bit, those of an
 * uninterrupted child run of the same recipe; at least ten kills happen in each of the two runs.
 *
 * <p>Sources of nondeterminism examined for the 1.5e-6 drift once seen between a randomised full
 * fine-tuning run and its uninterrupted twin:
 * <ul>
 *   <li><b>Intra-op thread count: a real source.</b> libtorch's CPU kernels split matmuls and reductions by
 *       the number of intra-op threads. The same 6-step full fine-tuning of the 1.7M-parameter
 *       {@code full-scratch-tiny} model (512-token packed batches) with {@code -Dai.djl.pytorch.num_threads=1}
 *       and {@code =2} gave a step-4 loss 4.0e-7 apart and weights 1.2e-7 apart after six steps, a gap that
 *       grows with steps: the drift seen is what a resume under another thread count (another CPU quota or
 *       affinity, or that property set) produces. With one thread count, runs are bitwise repeatable.
 *       stories260K's tensors are below libtorch's parallel grain, so its results do not depend on it; the
 *       children here inherit this machine's count anyway.</li>
 *   <li><b>Optimiser restore: a real bug, fixed.</b> AdamW's bias corrections count the updates it made,
 *       but resume restored the trainer's step, which also counts updates skipped for a NaN or infinite loss;
 *       a run that had skipped a step drifted after resuming. The restored count now subtracts the skipped
 *       steps. No step is skipped in this soak, so it does not exercise that path.</li>
 *   <li>Data order and dropout: functions of the seed and the position (no RNG stream to restore); the
 *       loader restarts at the saved (epoch, batch). Optimiser moments and trained tensors are checkpointed
 *       as F32, exactly. Both soaks below pass bitwise, full fine-tuning included.</li>
 * </ul>
 */
class KillResumeSoakTest {
    @TempDir
    Path tmp;

    static final ObjectMapper JSON = new ObjectMapper();

    Path recipe(String name, String adapter, int maxSteps) throws Exception {
        Path model = TestData.require("models/stories260K/stories260K.bin").toAbsolutePath();
        Path data = TestData.require("sft/fastchat-dummy-conversation/dummy_conversation.json").toAbsolutePath();
        return Files.writeString(tmp.resolve(name + ".yaml"), """
                model:
                  path: %s
                adapter:
                %s
                data:
                  sources: [{path: %s, format: sharegpt}]
                  template: vicuna_v1.1
                  max_length: 128
                train:
                  max_steps: %d
                  micro_batch_size: 2
                  gradient_accumulation_steps: 2
                  learning_rate: 2.0e-3
                  weight_decay: 0.1
                  warmup_steps: 2
                  log_every_steps: 1
                eval:
                  on_start: false
                output:
                  save_every_steps: 1
                  keep_last: 2
                """.formatted(model, adapter, data, maxSteps));
    }

    static Process child(Path recipe, Path dir, Path log, boolean resume) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), Workbench.class.getName(),
                "finetune", recipe.toString(), "--set", "output.dir=" + dir));
        if (resume) {
            cmd.add("--resume");
        }
        return new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    static long newestStep(Path dir) {
        try {
            return new CheckpointStore(dir, 2).list().stream()
                    .mapToLong(p -> Long.parseLong(p.getFileName().toString().substring(CheckpointStore.PREFIX.length())))
                    .max().orElse(0);
        } catch (RuntimeException e) {
            return 0; // a listing that raced with a prune
        }
    }

    /** Trains {@code recipe} in {@code dir}, killing the child at random points; returns the number of kills. */
    static int runWithKills(Path recipe, Path dir, Path log, int maxSteps, Random random) throws Exception {
        int kills = 0;
        for (int attempt = 0; attempt < 60; attempt++) {
            long from = newestStep(dir);
            Process p = child(recipe, dir, log, attempt > 0);
            // kill once the next checkpoint exists, then after 0-120 ms more (a quarter of the time at once)
            long target = from + 1;
            long delayMs = random.nextInt(4) == 0 ? 0 : random.nextInt(120);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            boolean kill = target < maxSteps;
            while (kill && p.isAlive() && newestStep(dir) < target && System.nanoTime() < deadline) {
                Thread.sleep(2);
            }
            if (kill && p.isAlive()) {
                Thread.sleep(delayMs);
                p.destroyForcibly(); // SIGKILL: no shutdown hooks, no cleanup
                p.waitFor(30, TimeUnit.SECONDS);
                kills++;
                assertFalse(Files.exists(dir.resolve("adapter")) || Files.exists(dir.resolve("model")) && newestStep(dir) < maxSteps,
                        "killed run finished early");
                continue;
            }
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child did not finish: " + Files.readString(log));
            assertEquals(0, p.exitValue(), Files.readString(log));
            return kills;
        }
        throw new AssertionError("never finished: " + Files.readString(log));
    }

    /** The last logged {@code loss} metric of every step in the run's tracking journal. */
    static Map<Long, Double> loggedLosses(Path dir) throws IOException {
        Path journal;
        try (Stream<Path> s = Files.walk(dir)) {
            journal = s.filter(p -> p.getFileName().toString().equals("journal.jsonl")).findFirst().orElseThrow();
        }
        Map<Long, Double> out = new TreeMap<>();
        for (String line : Files.readAllLines(journal)) {
            JsonNode n = JSON.readTree(line);
            if ("loss".equals(n.path("key").asText()) && n.has("step") && n.has("value")) {
                out.put(n.get("step").asLong(), n.get("value").asDouble());
            }
        }
        return out;
    }

    static Map<String, byte[]> weights(Path dir) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).toList()) {
                out.put(dir.relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        return out;
    }

    /**
     * Trains {@code recipe} to the end in this JVM (the same machine, so the same intra-op thread count as the
     * children) into {@code dir}.
     */
    static void runUninterrupted(Path recipe, Path dir) {
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        assertEquals(0, Workbench.standard().run(new String[] {"finetune", recipe.toString(), "--set", "output.dir=" + dir},
                new java.io.PrintStream(err, true)), err.toString());
    }

    /** Every safetensors file under {@code b} is byte for byte the one under {@code a}, and there is at least one. */
    static void assertSameWeights(Path a, Path b, String what) throws IOException {
        Map<String, byte[]> wa = weights(a);
        Map<String, byte[]> wb = weights(b);
        assertFalse(wa.isEmpty(), what + ": no safetensors under " + a);
        assertEquals(wa.keySet(), wb.keySet(), what);
        wa.forEach((file, bytes) -> assertArrayEquals(bytes, wb.get(file), what + " " + file));
    }

    /** The per-step losses of the two runs' trainer states at their checkpoint of {@code step} are equal. */
    static void assertSameTrainerLosses(Path whole, Path killed, int step, String what) throws IOException {
        String last = String.format("checkpoint-%06d", step);
        assertEquals(CheckpointStore.readState(whole.resolve(last)).losses(), CheckpointStore.readState(killed.resolve(last)).losses(),
                what + ": per-step losses in the trainer state");
    }

    void soak(String name, String adapter, String output, int maxSteps, long seed, int minKills) throws Exception {
        Path recipe = recipe(name, adapter, maxSteps);
        Path whole = tmp.resolve(name + "-whole");
        runUninterrupted(recipe, whole);

        Path killed = tmp.resolve(name + "-killed");
        int kills = runWithKills(recipe, killed, tmp.resolve(name + "-killed.log"), maxSteps, new Random(seed));

        assertSameWeights(whole.resolve(output), killed.resolve(output), name + " after " + kills + " kills");
        assertSameTrainerLosses(whole, killed, maxSteps, name);
        Map<Long, Double> la = loggedLosses(whole);
        assertEquals(maxSteps, la.size());
        assertEquals(la, loggedLosses(killed), name + ": logged per-step losses");
        assertTrue(kills >= minKills, name + ": only " + kills + " kills");
    }

    @Test
    void loraRunsKilledAtRandomPointsEndBitwiseEqualToAnUninterruptedRun() throws Exception {
        soak("lora", "  type: lora\n  r: 4\n  alpha: 8\n  dropout: 0.1\n  target_modules: [q_proj, v_proj, down_proj]",
                "adapter", 12, 17, 10);
    }

    @Test
    void fullFineTuningKilledAtRandomPointsEndsBitwiseEqualToAnUninterruptedRun() throws Exception {
        soak("full", "  type: none", "model", 12, 23, 10);
    }
}
