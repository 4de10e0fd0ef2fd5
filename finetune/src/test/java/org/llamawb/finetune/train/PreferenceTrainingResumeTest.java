package org.llamawb.finetune.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.model.TestData;
import org.llamawb.tracking.RunSpec;
import org.llamawb.tracking.TrackedRun;
import org.llamawb.tracking.Tracker;
import org.llamawb.tracking.TrackingSettings;

/**
 * DPO, KTO and the reward model through the trainer on stories260K (small arithmetic answers, right and
 * wrong, written here; the recipes run on the real LLaMA-Factory files in RecipesTest): a run stopped at a
 * checkpoint and resumed gives the uninterrupted run's losses and adapter (for the reward model with its
 * score head), and the journal holds TRL's metric names.
 */
class PreferenceTrainingResumeTest {
    @TempDir
    Path tmp;

    /** 40 sums as JSON lines: preference pairs (right over wrong) or KTO examples (alternately right and wrong). */
    Path data(String format) throws java.io.IOException {
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

    Recipe recipe(String method, String format, Path out, int steps) throws java.io.IOException {
        Path model = TestData.require("models/stories260K/stories260K.bin");
        Path data = data(format);
        var tree = RecipeLoader.readTree(writeMinimal());
        for (String s : List.of("method=" + method, "model.path=" + model, "data.sources=[{path: " + data + ", format: " + format
                + "}]", "data.max_length=512", "data.validation_fraction=0.2", "adapter.type=lora", "adapter.r=4",
                "adapter.target_modules=all-linear", "train.max_steps=" + steps, "train.micro_batch_size=2",
                "train.gradient_accumulation_steps=2", "train.learning_rate=1e-3", "train.lr_schedule=constant",
                "train.seed=3", "eval.every_steps=0", "eval.on_start=false", "eval.max_batches=2", "output.dir=" + out,
                "output.save_every_steps=2")) {
            RecipeLoader.applyOverride(tree, s);
        }
        return RecipeLoader.bind(tree, Recipe.class, "test");
    }

    private Path writeMinimal() {
        try {
            return Files.writeString(tmp.resolve("r.yaml"), "model: {path: x}\ndata: {sources: [{path: x}]}\n");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static TrackedRun journalOnly(Path out) {
        return new Tracker(TrackingSettings.journalOnly("test").withSystemMetricsInterval(Duration.ZERO).withNotices(s -> { }))
                .start(RunSpec.of(out, out.getFileName().toString()));
    }

    Trainer.Result run(Recipe r, boolean resume, ByteArrayOutputStream log) {
        Path out = Path.of(r.output().dir());
        try (TrackedRun run = journalOnly(out)) {
            return Trainer.run(new Trainer.Options(r, resume, run, new PrintStream(log, true)));
        } catch (RuntimeException e) {
            throw new AssertionError(e.getMessage() + "\n" + log, e);
        }
    }

    @ParameterizedTest
    @CsvSource({"dpo, preference, rewards/accuracies", "kto, kto, kl", "reward, preference, accuracy"})
    void stoppedAndResumedEqualsUninterrupted(String method, String format, String metric) throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Path whole = tmp.resolve("whole");
        Trainer.Result a = run(recipe(method, format, whole, 4), false, log);
        Path parts = tmp.resolve("parts");
        run(recipe(method, format, parts, 2), false, log);
        Trainer.Result b = run(recipe(method, format, parts, 4), true, log);
        assertEquals(4, a.steps(), log.toString());
        assertEquals(a.losses(), b.losses(), "losses of the resumed run\n" + log);
        assertArrayEquals(Files.readAllBytes(whole.resolve("adapter/adapter_model.safetensors")),
                Files.readAllBytes(parts.resolve("adapter/adapter_model.safetensors")), "adapters");
        String journal = Files.readString(whole.resolve("tracking/journal.jsonl"));
        assertTrue(journal.contains("\"" + metric + "\"") && journal.contains("\"eval_" + metric + "\""), journal);
        assertTrue(a.evalLosses().containsKey(4L), "held-out loss at the end");
    }
}
