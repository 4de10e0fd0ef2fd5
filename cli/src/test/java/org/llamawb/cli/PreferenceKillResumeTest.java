package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.llamawb.model.TestData;

/**
 * SIGKILL in the middle of DPO and KTO (issue 14): a child JVM runs {@code workbench finetune} with a checkpoint
 * after every step and is killed at seeded random points (right after a checkpoint appears, or up to 120 ms
 * later, inside the next step or a checkpoint write), then resumed with {@code --resume} until it finishes, as
 * {@link KillResumeSoakTest} does for SFT. The adapter and every metric the run logged to its tracking journal
 * (loss, TRL's {@code rewards/*} and {@code logps/*}, the held-out {@code eval_*} metrics, learning rate,
 * gradient norm, token count; not the wall-clock {@code tokens_per_second} or {@code system/*}) must equal,
 * bit for bit, those of an uninterrupted run of the same recipe. Adapter dropout is on, so every random mask
 * must be a function of the step (this found KTO's KL pass drawing its mask before the step's seed was set).
 * Metrics are logged every second step and checkpoints written every step, so a resume between two logged
 * steps must carry the method's metrics added since the last log (this found them lost: the first mean logged
 * after such a resume averaged one step, not two).
 */
class PreferenceKillResumeTest {
    @TempDir
    Path tmp;

    /** 24 sums: preference pairs (right over wrong) or KTO examples (alternately right and wrong). */
    Path data(String format) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 24; i++) {
            int a = 2 + i % 5;
            int b = 3 + i / 5;
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

    Path recipe(String method, String format, int maxSteps) throws IOException {
        Path model = TestData.require("models/stories260K/stories260K.bin").toAbsolutePath();
        return Files.writeString(tmp.resolve(method + ".yaml"), """
                method: %s
                model:
                  path: %s
                adapter: {type: lora, r: 4, alpha: 8, dropout: 0.1, target_modules: all-linear}
                data:
                  sources: [{path: %s, format: %s}]
                  max_length: 256
                  validation_fraction: 0.2
                train:
                  max_steps: %d
                  micro_batch_size: 2
                  gradient_accumulation_steps: 2
                  learning_rate: 2.0e-3
                  warmup_steps: 2
                  seed: 5
                  log_every_steps: 2
                eval: {on_start: false, every_steps: 2, max_batches: 2}
                output: {save_every_steps: 1, keep_last: 2}
                """.formatted(method, model, data(format).toAbsolutePath(), format, maxSteps));
    }

    /**
     * The last value logged for every (metric, step) in the run's journal, but for the metrics that measure
     * the clock or the machine. A step logged before a kill and again after the resume keeps its last value.
     */
    static Map<String, Double> loggedMetrics(Path dir) throws IOException {
        Map<String, Double> out = new TreeMap<>();
        for (String line : Files.readAllLines(dir.resolve("tracking/journal.jsonl"))) {
            JsonNode n = KillResumeSoakTest.JSON.readTree(line);
            String key = n.path("key").asText();
            if ("metric".equals(n.path("type").asText()) && !key.startsWith("system/") && !key.equals("tokens_per_second")) {
                out.put(key + "@" + n.get("step").asLong(), n.get("value").asDouble());
            }
        }
        return out;
    }

    @ParameterizedTest
    @CsvSource({"dpo, preference, 4, 31, rewards/margins", "kto, kto, 4, 37, kl"})
    void killedAtRandomPointsAndResumedEqualsAnUninterruptedRun(String method, String format, int maxSteps, long seed,
            String metric) throws Exception {
        Path recipe = recipe(method, format, maxSteps);
        Path whole = tmp.resolve(method + "-whole");
        KillResumeSoakTest.runUninterrupted(recipe, whole);

        Path killed = tmp.resolve(method + "-killed");
        Path log = tmp.resolve(method + "-killed.log");
        int kills = KillResumeSoakTest.runWithKills(recipe, killed, log, maxSteps, new Random(seed));
        assertTrue(kills >= 3, method + ": only " + kills + " kills");
        assertTrue(Files.readString(log).contains("resumed from checkpoint-"), Files.readString(log));

        KillResumeSoakTest.assertSameWeights(whole.resolve("adapter"), killed.resolve("adapter"),
                method + " after " + kills + " kills");
        KillResumeSoakTest.assertSameTrainerLosses(whole, killed, maxSteps, method);

        Map<String, Double> ma = loggedMetrics(whole);
        assertTrue(ma.containsKey("loss@" + maxSteps) && ma.containsKey(metric + "@2") && ma.containsKey("eval_" + metric + "@2"),
                ma.keySet().toString());
        assertEquals(ma, loggedMetrics(killed), method + ": every logged metric, after " + kills + " kills");
    }
}
