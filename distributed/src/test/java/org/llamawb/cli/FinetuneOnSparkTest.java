package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.finetune.checkpoint.CheckpointStore;
import org.llamawb.model.TestData;

/**
 * {@code workbench finetune RECIPE --spark local[2]} (in the cli's package: this module's class path is the
 * workbench-spark jar's, with the Spark engine on it): the driver trains with two workers, writes the checkpoint
 * and the tracked run once, and ends with the adapter of the same command without {@code --spark}; a Spark run
 * resumed with {@code --resume} ends as the uninterrupted one.
 */
class FinetuneOnSparkTest {
    @TempDir
    Path tmp;

    Path recipe(String name) throws Exception {
        Path model = TestData.require("models/stories260K/stories260K.bin").toAbsolutePath();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            sb.append("{\"instruction\": \"Say ").append(i).append(".\", \"input\": \"\", \"output\": \"")
                    .append(i).append(' ').append("is ".repeat(1 + i % 4)).append("said.\"}\n");
        }
        Path data = Files.writeString(tmp.resolve("say.jsonl"), sb.toString());
        return Files.writeString(tmp.resolve(name + ".yaml"), """
                method: sft
                model: {path: %s}
                adapter: {type: lora, r: 4, alpha: 8, dropout: 0.1, target_modules: all-linear}
                data:
                  sources: [{path: %s, format: alpaca}]
                  template: vicuna_v1.1
                  max_length: 256
                  validation_fraction: 0.0
                train: {max_steps: 2, micro_batch_size: 1, gradient_accumulation_steps: 3, learning_rate: 3.0e-3, seed: 7}
                eval: {every_steps: 0, on_start: false}
                tracking: {experiment: spark}
                output: {dir: %s, save_every_steps: 1}
                """.formatted(model, data, tmp.resolve(name)));
    }

    /** Runs a command line; returns what it printed on standard error (where commands report). */
    static String run(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream stderr = System.err;
        PrintStream capture = new PrintStream(err, true, StandardCharsets.UTF_8);
        int code;
        System.setErr(capture);
        try {
            code = Workbench.standard().run(args, capture);
        } finally {
            System.setErr(stderr);
        }
        String log = err.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, log);
        return log;
    }

    @Test
    void sparkRunEndsWithTheSingleProcessAdapter() throws Exception {
        String single = run("finetune", recipe("single").toString());
        String spark = run("finetune", recipe("spark").toString(), "--spark", "local[2]");
        assertTrue(spark.contains("spark: local[2], application ") && spark.contains("2 workers per step"), spark);
        assertTrue(spark.contains("each step's micro-batches are shared by 2 data-parallel workers"), spark);
        Map<String, float[]> a = CheckpointStore.readTensors(tmp.resolve("single/adapter/adapter_model.safetensors"));
        Map<String, float[]> b = CheckpointStore.readTensors(tmp.resolve("spark/adapter/adapter_model.safetensors"));
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            for (int i = 0; i < a.get(k).length; i++) {
                assertEquals(a.get(k)[i], b.get(k)[i], 1e-5, k + "[" + i + "]\n" + single + "\n" + spark);
            }
        }
        assertTrue(Files.isDirectory(tmp.resolve("spark").resolve(CheckpointStore.PREFIX + "000002")), spark);
        String journal = Files.readString(tmp.resolve("spark/tracking/journal.jsonl"));
        assertTrue(journal.contains("data_parallel_workers") && journal.contains("\"loss\""), journal);
        assertTrue(journal.contains("data_parallel/exchange_seconds") && journal.contains("data_parallel/worker_1_seconds"),
                journal);
    }

    @Test
    void aMethodThatDoesNotRunDataParallelIsRefusedBeforeSparkStarts() throws Exception {
        Path r = recipe("grpo");
        // an online method: its batches are the policy's own completions (on these instructions as prompts)
        Files.writeString(r, Files.readString(r).replace("method: sft", """
                method: grpo
                grpo: {num_generations: 3}
                rewards: [{type: regex, pattern: said}]"""));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Workbench.standard().run(new String[] {"finetune", r.toString(), "--spark", "local[2]"},
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String log = err.toString(StandardCharsets.UTF_8);
        assertEquals(2, code, log);
        assertEquals("error: --spark: method: grpo does not run data-parallel (methods sft, dpo, kto and reward do); "
                + "run it without --spark",
                log.strip());
        assertTrue(Files.notExists(tmp.resolve("grpo")), "no run was started");
    }

    @Test
    void aSparkRunStoppedAndResumedOnSparkEndsWithTheUninterruptedAdapter() throws Exception {
        // a constant learning rate, so that a run of 2 steps continued to 3 follows the 3-step run's schedule
        run("finetune", recipe("whole").toString(), "--set", "train.max_steps=3", "--set", "train.lr_schedule=constant");
        Path parts = recipe("parts");
        run("finetune", parts.toString(), "--set", "train.lr_schedule=constant", "--spark", "local[2]");
        String resumed = run("finetune", parts.toString(), "--set", "train.max_steps=3", "--set", "train.lr_schedule=constant",
                "--resume", "--spark", "local[2]");
        assertTrue(resumed.contains("resumed from checkpoint-000002 at step 2"), resumed);
        Map<String, float[]> a = CheckpointStore.readTensors(tmp.resolve("whole/adapter/adapter_model.safetensors"));
        Map<String, float[]> b = CheckpointStore.readTensors(tmp.resolve("parts/adapter/adapter_model.safetensors"));
        for (String k : a.keySet()) {
            for (int i = 0; i < a.get(k).length; i++) {
                assertEquals(a.get(k)[i], b.get(k)[i], 1e-5, k + "[" + i + "]\n" + resumed);
            }
        }
    }
}
