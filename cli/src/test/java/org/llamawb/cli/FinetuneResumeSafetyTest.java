package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.finetune.checkpoint.CheckpointStore;
import org.llamawb.model.TestData;

/**
 * Resuming with a changed recipe, from a damaged newest checkpoint, and from a named checkpoint
 * (issue 17, items 4 and 5).
 */
class FinetuneResumeSafetyTest {
    @TempDir
    Path tmp;

    Path recipe(int maxSteps) throws Exception {
        Path model = TestData.require("models/stories260K/stories260K.bin").toAbsolutePath();
        Path data = TestData.require("sft/fastchat-dummy-conversation/dummy_conversation.json").toAbsolutePath();
        return Files.writeString(tmp.resolve("recipe.yaml"), """
                model:
                  path: %s
                adapter:
                  type: lora
                  r: 4
                  alpha: 8
                  dropout: 0.1
                  target_modules: [q_proj, v_proj, down_proj]
                data:
                  sources: [{path: %s, format: sharegpt}]
                  template: vicuna_v1.1
                  max_length: 128
                train:
                  max_steps: %d
                  micro_batch_size: 2
                  gradient_accumulation_steps: 2
                  learning_rate: 2.0e-3
                  warmup_steps: 2
                  log_every_steps: 1
                eval:
                  on_start: false
                output:
                  save_every_steps: 1
                  keep_last: 10
                """.formatted(model, data, maxSteps));
    }

    /** Runs the CLI in-process; returns the exit code and what it wrote to stderr. */
    record Ran(int code, String err) {}

    static Ran cli(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream saved = System.err;
        PrintStream capture = new PrintStream(err, true, StandardCharsets.UTF_8);
        System.setErr(capture); // the trainer's progress and the resume lines go to System.err
        try {
            int code = Workbench.standard().run(args, capture);
            return new Ran(code, err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(saved);
        }
    }

    static Ran ok(String... args) {
        Ran r = cli(args);
        assertEquals(0, r.code(), r.err());
        return r;
    }

    /** Every file under {@code dir} with its bytes: "nothing changed" is this map staying equal. */
    static Map<String, String> snapshot(Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                out.put(dir.relativize(p).toString(), java.util.HexFormat.of().formatHex(
                        java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)))
                        + " " + Files.getLastModifiedTime(p));
            }
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
        return out;
    }

    @Test
    void aChangeThatCannotApplyIsRefusedBeforeAnythingIsTouchedAndAllowedOnesAreRecorded() throws Exception {
        Path recipe = recipe(3);
        Path run = tmp.resolve("run");
        ok("finetune", recipe.toString(), "--set", "output.dir=" + run);
        Map<String, String> before = snapshot(run);

        Ran r = cli("finetune", recipe.toString(), "--set", "output.dir=" + run, "--set", "adapter.r=8", "--resume");
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("error: adapter.r: 4 in checkpoint-000003's recipe, 8 now; it cannot change when resuming"),
                r.err());
        r = cli("finetune", recipe.toString(), "--set", "output.dir=" + run, "--set", "train.learning_rate=1e-3", "--resume");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().startsWith("error: train.learning_rate: 0.002 in checkpoint-000003's recipe, 0.001 now;"), r.err());
        r = cli("finetune", recipe.toString(), "--set", "output.dir=" + run, "--set", "train.max_steps=2", "--resume");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().startsWith("error: train.max_steps: 2 is not beyond step 3 of checkpoint-000003"), r.err());
        assertEquals(before, snapshot(run), "a refused resume must leave the run directory (and its tracked run) as it was");

        // the thread count a checkpoint was trained with is recorded; another one is warned about
        Path state = run.resolve("checkpoint-000003").resolve(CheckpointStore.STATE_FILE);
        String json = Files.readString(state);
        assertTrue(json.matches("(?s).*\"intra_op_threads\" : [1-9][0-9]*.*"), json);
        Files.writeString(state, json.replaceAll("\"intra_op_threads\" : [0-9]+", "\"intra_op_threads\" : 999"));
        r = ok("finetune", recipe.toString(), "--set", "output.dir=" + run, "--set", "train.max_steps=5",
                "--set", "eval.every_steps=2", "--resume");
        assertTrue(r.err().contains("resume: train.max_steps 3 -> 5 (changed since checkpoint-000003)"), r.err());
        assertTrue(r.err().contains("resume: eval.every_steps 0 -> 2 (changed since checkpoint-000003)"), r.err());
        assertTrue(r.err().contains("warning: checkpoint-000003 was trained with 999 intra-op threads, this process has "),
                r.err());
        String stored = Files.readString(run.resolve("checkpoint-000005").resolve(CheckpointStore.RECIPE_FILE));
        assertTrue(stored.startsWith("# resumed at step 3 with eval.every_steps 0 -> 2, train.max_steps 3 -> 5\n"), stored);
        assertTrue(stored.contains("max_steps: 5"), stored);
        assertEquals(5, CheckpointStore.readState(run.resolve("checkpoint-000005")).step());
        String journal = Files.readString(run.resolve(trackingDir(run)).resolve("journal.jsonl"));
        assertTrue(journal.contains("resumed_at_step_3.train.max_steps") && journal.contains("3 -> 5"), journal);
    }

    /** The folder (relative to the run) that holds the tracking journal. */
    static String trackingDir(Path run) throws IOException {
        try (Stream<Path> s = Files.walk(run)) {
            return run.relativize(s.filter(p -> p.getFileName().toString().equals("journal.jsonl")).findFirst()
                    .orElseThrow().getParent()).toString();
        }
    }

    interface Damage {
        void apply(Path checkpoint) throws IOException;
    }

    static void truncate(Path file, long keep) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(keep < 0 ? f.length() + keep : keep);
        }
    }

    static void flipByte(Path file, long fromEnd) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            long at = f.length() - fromEnd;
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x10);
        }
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
    }

    static void assertSameResult(Path whole, Path resumed) throws IOException {
        assertArrayEquals(Files.readAllBytes(whole.resolve("adapter/adapter_model.safetensors")),
                Files.readAllBytes(resumed.resolve("adapter/adapter_model.safetensors")), "final adapter of " + resumed);
        assertEquals(CheckpointStore.readState(whole.resolve("checkpoint-000005")).losses(),
                CheckpointStore.readState(resumed.resolve("checkpoint-000005")).losses(), "per-step losses of " + resumed);
    }

    @Test
    void aDamagedNewestCheckpointFallsBackToTheOneBeforeAndResumeFromNamesOne() throws Exception {
        Path recipe = recipe(5);
        Path whole = tmp.resolve("whole");
        ok("finetune", recipe.toString(), "--set", "output.dir=" + whole);

        Map<String, Damage> damages = new TreeMap<>();
        damages.put("adapter", c -> truncate(c.resolve("adapter/adapter_model.safetensors"), -7));
        damages.put("optimizer", c -> flipByte(c.resolve(CheckpointStore.OPTIMIZER_FILE), 5)); // inside the data
        damages.put("state", c -> truncate(c.resolve(CheckpointStore.STATE_FILE), 40));
        Map<String, String> expected = Map.of(
                "adapter", "adapter_model.safetensors",
                "optimizer", "optimizer.safetensors does not match its checksum",
                "state", "trainer_state.json");
        for (var d : damages.entrySet()) {
            Path run = tmp.resolve("damaged-" + d.getKey());
            copyTree(whole.resolve("checkpoint-000002"), run.resolve("checkpoint-000002"));
            copyTree(whole.resolve("checkpoint-000003"), run.resolve("checkpoint-000003"));
            d.getValue().apply(run.resolve("checkpoint-000003"));
            Ran r = ok("finetune", recipe.toString(), "--set", "output.dir=" + run, "--resume");
            String warning = r.err().lines().filter(l -> l.startsWith("warning: checkpoint-000003 cannot be resumed from"))
                    .findFirst().orElseThrow(() -> new AssertionError(d.getKey() + ": no warning in " + r.err()));
            assertTrue(warning.contains(expected.get(d.getKey())), warning);
            assertTrue(r.err().contains("resumed from checkpoint-000002 at step 2"), r.err());
            assertTrue(Files.isDirectory(run.resolve("set-aside-checkpoint-000003")), "the damaged one is kept aside");
            assertSameResult(whole, run);
        }

        Path named = tmp.resolve("named");
        for (String c : new String[] {"checkpoint-000001", "checkpoint-000002", "checkpoint-000003"}) {
            copyTree(whole.resolve(c), named.resolve(c));
        }
        Ran r = ok("finetune", recipe.toString(), "--set", "output.dir=" + named, "--resume-from",
                named.resolve("checkpoint-000001").toString());
        assertTrue(r.err().contains("resumed from checkpoint-000001 at step 1"), r.err());
        assertTrue(Files.isDirectory(named.resolve("set-aside-checkpoint-000002")), r.err());
        assertTrue(Files.isDirectory(named.resolve("set-aside-checkpoint-000003")), r.err());
        assertSameResult(whole, named);

        Ran bad = cli("finetune", recipe.toString(), "--set", "output.dir=" + tmp.resolve("other"), "--resume-from",
                tmp.resolve("damaged-state/set-aside-checkpoint-000003").toString());
        assertEquals(2, bad.code(), bad.err());
        assertTrue(bad.err().startsWith("error: --resume-from " + tmp.resolve("damaged-state/set-aside-checkpoint-000003")
                + ": cannot be resumed from ("), bad.err());
        assertFalse(Files.exists(tmp.resolve("other")), "a refused command creates no run directory");
    }
}
