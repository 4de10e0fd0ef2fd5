package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.llamawb.datasets.synthetic.ArithmeticTask;
import org.llamawb.model.TestData;

/**
 * SIGKILL in the middle of PPO and GRPO (issue 15): a child JVM runs {@code workbench finetune} on stories260K and
 * generated arithmetic prompts, is killed at a seeded random time after its first checkpoint and before the next
 * (within 2/3 of the uninterrupted run's time between them): while it samples the next rollout batch, while it trains
 * on it, or between two updates of that batch (each batch serves two steps); then resumed with {@code --resume}. The
 * policy adapter, the per-step losses and every metric the run logged (rewards, TRL's {@code objective/*},
 * {@code policy/*}, {@code loss/*}, {@code kl}, {@code clip_ratio/*}, the held-out {@code eval_*}, learning rate,
 * gradient norm, token count; not the clock's {@code tokens_per_second}) must equal, bit for bit, those of an
 * uninterrupted run; for PPO also the critic (adapter and value head) and the adaptive KL coefficient of the last
 * checkpoint. So the sampling streams, the data position, the adaptive KL controller, the critic's optimiser moments
 * and the adapter dropout are restored or functions of the position. Checkpoints fall every second step and metrics
 * are logged every third, so the checkpoint holds metrics not yet logged, among them a rollout batch's rewards (GRPO
 * lost these until its metrics joined the one accumulator the trainer checkpoints).
 */
class OnlineKillResumeTest {
    @TempDir
    Path tmp;

    static final int STEPS = 4;
    static final int SAVE_EVERY = 2;

    Path recipe(String method, String section) throws Exception {
        Path model = TestData.require("models/stories260K/stories260K.bin").toAbsolutePath();
        Path prompts = tmp.resolve("prompts.jsonl");
        new ArithmeticTask(5, 5).write(prompts, ArithmeticTask.Kind.PROMPTS, 60, 3);
        return Files.writeString(tmp.resolve(method + ".yaml"), """
                method: %s
                model:
                  path: %s
                adapter: {type: lora, r: 4, alpha: 8, dropout: 0.1, target_modules: all-linear}
                data:
                  sources: [{path: %s, format: prompts}]
                  template: llama-2
                  max_length: 128
                  validation_fraction: 0.1
                train:
                  max_steps: %d
                  micro_batch_size: 4
                  gradient_accumulation_steps: 2
                  learning_rate: 5.0e-3
                  warmup_steps: 2
                  seed: 3
                  log_every_steps: 3
                %s
                rewards:
                  - {name: says_the, type: regex, pattern: '\\bThe\\b'}
                  - {type: exact_answer, pattern: 'The answer is (-?\\d+)'}
                eval: {on_start: false, every_steps: 3, max_batches: 1}
                output: {save_every_steps: %d, keep_last: 2}
                """.formatted(method, model, prompts.toAbsolutePath(), STEPS, section, SAVE_EVERY));
    }

    /**
     * Trains {@code recipe} in {@code dir}, killing the child once per checkpoint but the last, {@code 0..window} ms
     * after the checkpoint appears; returns the number of kills.
     */
    static int runWithKills(Path recipe, Path dir, Path log, long windowMs, Random random) throws Exception {
        int kills = 0;
        for (int attempt = 0; attempt < 20; attempt++) {
            long from = KillResumeSoakTest.newestStep(dir);
            Process p = KillResumeSoakTest.child(recipe, dir, log, attempt > 0);
            long target = from + SAVE_EVERY;
            boolean kill = target < STEPS;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
            while (kill && p.isAlive() && KillResumeSoakTest.newestStep(dir) < target && System.nanoTime() < deadline) {
                Thread.sleep(2);
            }
            if (kill && p.isAlive()) {
                Thread.sleep((long) (random.nextDouble() * windowMs));
                p.destroyForcibly(); // SIGKILL: no shutdown hooks, no cleanup
                p.waitFor(30, TimeUnit.SECONDS);
                kills++;
                assertFalse(Files.exists(dir.resolve("adapter")), "killed run finished early: " + Files.readString(log));
                continue;
            }
            assertTrue(p.waitFor(300, TimeUnit.SECONDS), "child did not finish: " + Files.readString(log));
            assertEquals(0, p.exitValue(), Files.readString(log));
            return kills;
        }
        throw new AssertionError("never finished: " + Files.readString(log));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "grpo | 'grpo: {num_generations: 4, max_completion_length: 6, beta: 0.04, num_iterations: 2}' | 41 | reward",
            "ppo | 'ppo: {response_length: 6, missing_eos_penalty: 0.5, num_ppo_epochs: 1, num_mini_batches: 2, "
                    + "kl_target: 0.05}' | 43 | objective/kl_coef"})
    void killedMidRunAndResumedEqualsAnUninterruptedRun(String method, String section, long seed, String metric)
            throws Exception {
        Path recipe = recipe(method, section);
        Path whole = tmp.resolve(method + "-whole");
        KillResumeSoakTest.runUninterrupted(recipe, whole);
        // the time between the last two checkpoints (two steps and an evaluation) in this JVM, where the JIT has
        // compiled the code already: a fresh child is slower, so a kill within 2/3 of it lands before the next one
        long intervalMs = Files.getLastModifiedTime(whole.resolve(String.format("checkpoint-%06d", STEPS))).toMillis()
                - Files.getLastModifiedTime(whole.resolve(String.format("checkpoint-%06d", STEPS - SAVE_EVERY))).toMillis();
        assertTrue(intervalMs > 0, "checkpoint times " + intervalMs);

        Path killed = tmp.resolve(method + "-killed");
        Path log = tmp.resolve(method + "-killed.log");
        int kills = runWithKills(recipe, killed, log, intervalMs * 2 / 3, new Random(seed));
        assertEquals(STEPS / SAVE_EVERY - 1, kills, method + ": one kill after each checkpoint but the last");
        assertTrue(Files.readString(log).contains("resumed from checkpoint-"), Files.readString(log));

        KillResumeSoakTest.assertSameWeights(whole.resolve("adapter"), killed.resolve("adapter"),
                method + " after " + kills + " kills");
        KillResumeSoakTest.assertSameTrainerLosses(whole, killed, STEPS, method);
        if (method.equals("ppo")) {
            String last = String.format("checkpoint-%06d", STEPS);
            KillResumeSoakTest.assertSameWeights(whole.resolve(last).resolve("critic"), killed.resolve(last).resolve("critic"),
                    "critic");
            assertEquals(Files.readString(whole.resolve(last).resolve("critic/ppo_state.json")),
                    Files.readString(killed.resolve(last).resolve("critic/ppo_state.json")), "adaptive KL coefficient");
        }

        Map<String, Double> ma = PreferenceKillResumeTest.loggedMetrics(whole);
        assertTrue(ma.containsKey("loss@" + STEPS) && ma.containsKey(metric + "@3") && ma.containsKey("eval_reward@3"),
                ma.keySet().toString());
        assertEquals(ma, PreferenceKillResumeTest.loggedMetrics(killed), method + ": every logged metric, after " + kills
                + " kills");
    }
}
