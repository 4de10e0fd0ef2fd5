package org.llamawb.finetune.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.datasets.synthetic.ArithmeticTask;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.model.TestData;
import org.llamawb.tracking.TrackedRun;

/**
 * PPO through the trainer on stories260K and generated arithmetic prompts: a run stopped at a checkpoint and resumed
 * samples and trains exactly as the uninterrupted run (losses, policy adapter bytes, critic bytes, KL coefficient),
 * with several PPO epochs, and with several mini-batches and an adaptive KL coefficient; the journal holds TRL's
 * metric names; the checkpoint's critic is a PEFT SEQ_CLS adapter distinct from the policy.
 */
class PpoTrainingTest {
    @TempDir
    Path tmp;

    Path prompts() throws IOException {
        Path data = tmp.resolve("prompts.jsonl");
        if (!Files.exists(data)) {
            new ArithmeticTask(5, 5).write(data, ArithmeticTask.Kind.PROMPTS, 60, 3);
        }
        return data;
    }

    Recipe recipe(Path data, Path out, int steps, List<String> extra) throws IOException {
        Path model = TestData.require("models/stories260K/stories260K.bin");
        var tree = RecipeLoader.readTree(Files.writeString(tmp.resolve("r.yaml"),
                "model: {path: x}\ndata: {sources: [{path: x}]}\n"));
        List<String> overrides = new ArrayList<>(List.of("method=ppo", "model.path=" + model,
                "data.sources=[{path: " + data + ", format: prompts}]", "data.template=llama-2", "data.max_length=128",
                "data.validation_fraction=0.1", "adapter.type=lora", "adapter.r=4", "adapter.target_modules=all-linear",
                "train.max_steps=" + steps, "train.micro_batch_size=4", "train.gradient_accumulation_steps=2",
                "train.learning_rate=5e-3", "train.lr_schedule=constant", "train.seed=3", "ppo.response_length=6",
                "ppo.temperature=1.0", "ppo.missing_eos_penalty=0.5",
                "rewards=[{name: says_the, type: regex, pattern: '\\bThe\\b'}, {type: exact_answer, "
                        + "pattern: 'The answer is (-?\\d+)'}]",
                "eval.every_steps=0", "eval.on_start=false", "eval.max_batches=1", "output.dir=" + out,
                "output.save_every_steps=2"));
        overrides.addAll(extra);
        for (String s : overrides) {
            RecipeLoader.applyOverride(tree, s);
        }
        return RecipeLoader.bind(tree, Recipe.class, "test");
    }

    Trainer.Result run(Recipe r, boolean resume, ByteArrayOutputStream log) {
        Path out = Path.of(r.output().dir());
        try (TrackedRun run = PreferenceTrainingResumeTest.journalOnly(out)) {
            return Trainer.run(new Trainer.Options(r, resume, run, new PrintStream(log, true)));
        } catch (RuntimeException e) {
            throw new AssertionError(e.getMessage() + "\n" + log, e);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ppo.num_ppo_epochs=2", "ppo.num_ppo_epochs=1;ppo.num_mini_batches=2;ppo.kl_target=0.05"})
    void stoppedAndResumedEqualsUninterrupted(String settings) throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        List<String> extra = Arrays.asList(settings.split(";"));
        Path whole = tmp.resolve("whole");
        Trainer.Result a = run(recipe(prompts(), whole, 4, extra), false, log);
        Path parts = tmp.resolve("parts");
        run(recipe(prompts(), parts, 2, extra), false, log);
        Trainer.Result b = run(recipe(prompts(), parts, 4, extra), true, log);
        assertEquals(4, a.steps(), log.toString());
        assertEquals(a.losses(), b.losses(), "losses of the resumed run\n" + log);
        assertTrue(a.losses().stream().allMatch(Double::isFinite), a.losses() + "\n" + log);
        assertArrayEquals(Files.readAllBytes(whole.resolve("adapter/adapter_model.safetensors")),
                Files.readAllBytes(parts.resolve("adapter/adapter_model.safetensors")), "policy adapters");
        Path wholeCritic = whole.resolve("checkpoint-000004/critic/adapter_model.safetensors");
        assertArrayEquals(Files.readAllBytes(wholeCritic),
                Files.readAllBytes(parts.resolve("checkpoint-000004/critic/adapter_model.safetensors")), "critics");
        assertTrue(Files.readString(whole.resolve("checkpoint-000004/critic/adapter_config.json")).contains("SEQ_CLS"));
        assertTrue(!Arrays.equals(Files.readAllBytes(wholeCritic),
                Files.readAllBytes(whole.resolve("checkpoint-000004/adapter/adapter_model.safetensors"))),
                "the critic is its own adapter");
        assertTrue(Files.readString(whole.resolve("adapter/adapter_config.json")).contains("CAUSAL_LM"),
                "the run's adapter is the policy");
        for (String name : List.of("objective/kl", "objective/entropy", "objective/scores", "objective/rlhf_reward",
                "policy/approxkl_avg", "policy/clipfrac_avg", "loss/policy_avg", "loss/value_avg", "val/ratio",
                "val/num_eos_tokens", "rewards/says_the/mean", "eval_reward", "eval_kl")) {
            assertTrue(!LearningCanBeCheckedTest.metric(whole, name).isEmpty(), name + " logged\n" + log);
        }
        for (String name : List.of("objective/scores", "objective/kl_coef", "loss/value_avg", "policy/approxkl_avg")) {
            assertEquals(LearningCanBeCheckedTest.metric(whole, name), LearningCanBeCheckedTest.metric(parts, name),
                    name + " of the resumed run");
        }
        // the score is the rules' weighted sum less missing_eos_penalty (0.5) for each reply cut at response_length
        for (long step : List.of(1L, 3L)) {
            double says = LearningCanBeCheckedTest.metric(whole, "rewards/says_the/mean").get(step);
            double exact = LearningCanBeCheckedTest.metric(whole, "rewards/exact_answer/mean").get(step);
            double cut = LearningCanBeCheckedTest.metric(whole, "completions/clipped_ratio").get(step);
            assertEquals(says + exact - 0.5 * cut, LearningCanBeCheckedTest.metric(whole, "objective/scores").get(step),
                    1e-9, "objective/scores at step " + step);
            assertTrue(cut > 0, "6-token replies are mostly cut: the penalty is exercised");
        }
        Map<Long, Double> coef = LearningCanBeCheckedTest.metric(whole, "objective/kl_coef"); // logged per rollout batch
        assertEquals(2, coef.size(), "two rollout batches: " + coef);
        assertEquals(coef, LearningCanBeCheckedTest.metric(parts, "objective/kl_coef"), "KL coefficients");
        double second = coef.get(3L);
        if (settings.contains("kl_target")) {
            assertNotEquals(0.05, second, "the adaptive coefficient moved after the first rollout batch: " + coef);
        } else {
            assertEquals(0.05, second, "a fixed kl_coef");
        }
        assertTrue(Files.readString(whole.resolve("checkpoint-000004/critic/adapter_config.json")).contains("\"score\""),
                "the value head is saved as the critic's modules_to_save");
    }
}
