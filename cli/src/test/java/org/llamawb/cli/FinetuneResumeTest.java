package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.finetune.checkpoint.CheckpointStore;
import org.llamawb.finetune.checkpoint.TrainerState;
import org.llamawb.model.TestData;

/**
 * A run killed with SIGKILL mid-way and resumed ends with the adapter and loss curve of an uninterrupted
 * run, and no checkpoint directory is ever half-written.
 */
class FinetuneResumeTest {
    @TempDir
    Path tmp;

    Path recipe() throws Exception {
        Path model = TestData.require("models/stories260K/stories260K.bin").toAbsolutePath();
        Path data = TestData.require("sft/fastchat-dummy-conversation/dummy_conversation.json").toAbsolutePath();
        return Files.writeString(tmp.resolve("recipe.yaml"), """
                model:
                  path: %s
                adapter:
                  type: lora
                  r: 4
                  alpha: 8
                  target_modules: [q_proj, v_proj, down_proj]
                data:
                  sources: [{path: %s, format: sharegpt}]
                  template: vicuna_v1.1
                  max_length: 256
                train:
                  max_steps: 20
                  micro_batch_size: 2
                  gradient_accumulation_steps: 2
                  learning_rate: 2.0e-3
                  warmup_steps: 3
                  log_every_steps: 10
                eval:
                  on_start: false
                output:
                  save_every_steps: 2
                  keep_last: 2
                """.formatted(model, data));
    }

    static int cli(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Workbench.standard().run(args, new PrintStream(err, true));
        assertEquals(0, code, err.toString());
        return code;
    }

    @Test
    void killedAndResumedRunEqualsAnUninterruptedOne() throws Exception {
        Path recipe = recipe();
        Path whole = tmp.resolve("whole");
        cli("finetune", recipe.toString(), "--set", "output.dir=" + whole);

        Path killed = tmp.resolve("killed");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), Workbench.class.getName(),
                "finetune", recipe.toString(), "--set", "output.dir=" + killed));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
        Path marker = killed.resolve("checkpoint-000008");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.exists(marker) && child.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(child.isAlive(), "the child must still be training when it is killed: " + Files.readString(tmp.resolve("child.log")));
        child.destroyForcibly(); // SIGKILL: no shutdown hooks, no cleanup
        child.waitFor(30, TimeUnit.SECONDS);
        assertFalse(Files.exists(killed.resolve("adapter")), "the killed run must not have finished");
        long before = new CheckpointStore(killed, 2).latest().map(p -> CheckpointStore.readState(p).step()).orElse(0L);
        assertTrue(before >= 8 && before < 20, "killed at step " + before);
        for (Path dir : checkpoints(killed)) {
            assertTrue(Files.isRegularFile(dir.resolve(CheckpointStore.STATE_FILE)), dir + " is half-written");
            assertTrue(Files.isRegularFile(dir.resolve("adapter/adapter_model.safetensors")), dir + " lacks its adapter");
        }
        // debris of an interrupted write or prune is never taken for a checkpoint, and is cleaned up
        Files.createDirectories(killed.resolve(".tmp-checkpoint-000099/adapter"));
        Files.createDirectories(killed.resolve(".old-checkpoint-000002/adapter"));

        cli("finetune", recipe.toString(), "--set", "output.dir=" + killed, "--resume");
        assertFalse(Files.exists(killed.resolve(".tmp-checkpoint-000099")));
        assertFalse(Files.exists(killed.resolve(".old-checkpoint-000002")));
        TrainerState a = CheckpointStore.readState(whole.resolve("checkpoint-000020"));
        TrainerState b = CheckpointStore.readState(killed.resolve("checkpoint-000020"));
        assertEquals(a.losses().size(), b.losses().size());
        for (int i = 0; i < a.losses().size(); i++) {
            assertEquals(a.losses().get(i), b.losses().get(i), 1e-6, "loss at step " + (i + 1));
        }
        Map<String, float[]> wa = CheckpointStore.readTensors(whole.resolve("adapter/adapter_model.safetensors"));
        Map<String, float[]> wb = CheckpointStore.readTensors(killed.resolve("adapter/adapter_model.safetensors"));
        assertEquals(wa.keySet(), wb.keySet());
        for (String k : wa.keySet()) {
            float[] x = wa.get(k);
            float[] y = wb.get(k);
            for (int i = 0; i < x.length; i++) {
                assertEquals(x[i], y[i], 1e-6, k);
            }
        }
    }

    static List<Path> checkpoints(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("checkpoint-")).toList();
        }
    }

}
