package org.llamawb.finetune.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.llamawb.datasets.synthetic.ArithmeticTask;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.model.BadInputException;
import org.llamawb.model.TestData;
import org.llamawb.tracking.TrackedRun;

/**
 * GRPO through the trainer on stories260K and generated arithmetic prompts: a run stopped at a checkpoint and
 * resumed samples and trains exactly as the uninterrupted run (losses, adapter bytes, logged rewards), with one and
 * with two updates per generation batch; the journal holds TRL's metric names; a reward that fails names itself.
 */
class GrpoTrainingTest {
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
        List<String> overrides = new ArrayList<>(List.of("method=grpo", "model.path=" + model,
                "data.sources=[{path: " + data + ", format: prompts}]", "data.template=llama-2", "data.max_length=128",
                "data.validation_fraction=0.1", "adapter.type=lora", "adapter.r=4", "adapter.target_modules=all-linear",
                "train.max_steps=" + steps, "train.micro_batch_size=4", "train.gradient_accumulation_steps=2",
                "train.learning_rate=5e-3", "train.lr_schedule=constant", "train.seed=3", "grpo.num_generations=4",
                "grpo.max_completion_length=6", "grpo.beta=0.04",
                "rewards=[{name: says_the, type: regex, pattern: '\\bThe\\b'}, {name: stops, type: format, "
                        + "pattern: '.{0,12}'}, {type: exact_answer, pattern: 'The answer is (-?\\d+)'}]",
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
    @ValueSource(ints = {1, 2})
    void stoppedAndResumedEqualsUninterrupted(int iterations) throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        List<String> extra = List.of("grpo.num_iterations=" + iterations);
        Path whole = tmp.resolve("whole");
        Trainer.Result a = run(recipe(prompts(), whole, 4, extra), false, log);
        Path parts = tmp.resolve("parts");
        run(recipe(prompts(), parts, 2, extra), false, log);
        Trainer.Result b = run(recipe(prompts(), parts, 4, extra), true, log);
        assertEquals(4, a.steps(), log.toString());
        assertEquals(a.losses(), b.losses(), "losses of the resumed run\n" + log);
        assertArrayEquals(Files.readAllBytes(whole.resolve("adapter/adapter_model.safetensors")),
                Files.readAllBytes(parts.resolve("adapter/adapter_model.safetensors")), "adapters");
        assertEquals(LearningCanBeCheckedTest.metric(whole, "reward").get(4L),
                LearningCanBeCheckedTest.metric(parts, "reward").get(4L), "the resumed run sampled the same completions");
        for (String name : List.of("reward", "reward_std", "kl", "completions/mean_length", "completions/clipped_ratio",
                "clip_ratio/region_mean", "rewards/says_the/mean", "rewards/exact_answer/mean", "eval_reward",
                "eval_kl")) {
            assertTrue(!LearningCanBeCheckedTest.metric(whole, name).isEmpty(), name + " logged\n" + log);
        }
        Map<Long, Double> clipped = LearningCanBeCheckedTest.metric(whole, "clip_ratio/region_mean");
        if (iterations == 1) {
            assertEquals(0.0, clipped.get(4L), "one update per generation batch: the ratio is 1, nothing is clipped");
        }
    }

    @Test
    void aRewardThatFailsIsNamed() throws Exception {
        Path data = Files.writeString(tmp.resolve("no-answers.jsonl"), String.join("\n", java.util.Collections.nCopies(1, ""))
                + "{\"id\": \"q1\", \"prompt\": \"What is 1 + 1?\"}\n{\"id\": \"q2\", \"prompt\": \"What is 2 + 1?\"}\n"
                + "{\"id\": \"q3\", \"prompt\": \"What is 3 + 1?\"}\n{\"id\": \"q4\", \"prompt\": \"What is 4 + 1?\"}\n");
        Recipe r = recipe(data, tmp.resolve("out"), 1, List.of("data.validation_fraction=0"));
        Path out = Path.of(r.output().dir());
        BadInputException e;
        try (TrackedRun run = PreferenceTrainingResumeTest.journalOnly(out)) {
            e = assertThrows(BadInputException.class, () -> Trainer.run(new Trainer.Options(r, false, run,
                    new PrintStream(new ByteArrayOutputStream(), true))));
        }
        assertTrue(e.getMessage().startsWith("reward 'exact_answer' (rewards[2]) failed on example q"), e.getMessage());
        assertTrue(e.getMessage().contains("has no reference answer"), e.getMessage());
    }
}
