package org.llamawb.finetune.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.finetune.dpo.ReferenceAdapterTest;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.model.BadInputException;
import org.llamawb.model.TestData;
import org.llamawb.tracking.TrackedRun;

/**
 * DPO whose policy starts from an SFT adapter ({@code adapter.init_from}) through the trainer on stories260K:
 * against the frozen SFT adapter ({@code dpo.reference: adapter}, the default then) the first loss and the
 * held-out loss before training are ln 2; the policy keeps the SFT adapter's shape, not the recipe's; a run
 * stopped and resumed gives the uninterrupted run's losses and adapter; precomputed reference log-probabilities
 * give the same losses; against the base instead, the first loss is not ln 2.
 */
class DpoFromSftAdapterTest {
    @TempDir
    Path tmp;

    Path sft;

    Recipe recipe(Path out, int steps, String... more) throws IOException {
        if (sft == null) {
            sft = ReferenceAdapterTest.writeSftAdapter(TestData.require("models/stories260K/stories260K.bin"),
                    tmp.resolve("sft"), 3);
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 30; i++) {
            int a = 2 + i % 7;
            int b = 3 + i / 7;
            sb.append("{\"prompt\": \"What is ").append(a).append(" plus ").append(b).append("?\", \"chosen\": \"It is ")
                    .append(a + b).append(".\", \"rejected\": \"It is ").append(a + b + 1 + i % 3).append(".\"}\n");
        }
        Path data = Files.writeString(tmp.resolve("pairs.jsonl"), sb.toString());
        var tree = RecipeLoader.readTree(Files.writeString(tmp.resolve("r.yaml"), "model: {path: x}\ndata: {sources: [{path: x}]}\n"));
        List<String> sets = new ArrayList<>(List.of("method=dpo",
                "model.path=" + TestData.require("models/stories260K/stories260K.bin"),
                "data.sources=[{path: " + data + ", format: preference}]", "data.max_length=256", "data.validation_fraction=0.2",
                "adapter.type=lora", "adapter.r=16", "adapter.init_from=" + sft, "train.max_steps=" + steps,
                "train.micro_batch_size=2", "train.gradient_accumulation_steps=2", "train.learning_rate=1e-3",
                "train.lr_schedule=constant", "train.seed=3", "eval.every_steps=0", "eval.on_start=true",
                "eval.max_batches=2", "output.dir=" + out, "output.save_every_steps=2"));
        sets.addAll(List.of(more));
        for (String s : sets) {
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

    @Test
    void startsAtLn2AgainstTheFrozenSftAdapterAndResumesExactly() throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Path whole = tmp.resolve("whole");
        Recipe r = recipe(whole, 4);
        assertEquals("adapter", r.dpo().reference(), "the default with adapter.init_from");
        Trainer.Result a = run(r, false, log);
        assertEquals(Math.log(2), a.evalLosses().get(0L), 1e-6, "held-out loss before training\n" + log);
        assertEquals(Math.log(2), a.losses().get(0), 1e-6, "first training loss");
        assertTrue(a.losses().get(3) < a.losses().get(0), a.losses().toString());
        assertTrue(log.toString().contains("reference model: the base with the frozen adapter " + sft), log.toString());

        JsonNode config = new ObjectMapper().readTree(whole.resolve("adapter/adapter_config.json").toFile());
        assertEquals(4, config.get("r").asInt(), "the SFT adapter's rank, not adapter.r");
        assertFalse(Arrays.equals(Files.readAllBytes(sft.resolve("adapter_model.safetensors")),
                Files.readAllBytes(whole.resolve("adapter/adapter_model.safetensors"))), "the policy was trained");

        Path parts = tmp.resolve("parts");
        run(recipe(parts, 2), false, log);
        Trainer.Result b = run(recipe(parts, 4), true, log);
        assertEquals(a.losses(), b.losses(), "losses of the resumed run\n" + log);
        assertArrayEquals(Files.readAllBytes(whole.resolve("adapter/adapter_model.safetensors")),
                Files.readAllBytes(parts.resolve("adapter/adapter_model.safetensors")), "adapters");

        Trainer.Result pre = run(recipe(tmp.resolve("pre"), 2, "dpo.precompute_ref_log_probs=true"), false, log);
        assertTrue(log.toString().contains("sequences precomputed"), log.toString());
        for (int i = 0; i < 2; i++) {
            assertEquals(a.losses().get(i), pre.losses().get(i), 1e-5, "precomputed reference, step " + (i + 1));
        }

        Trainer.Result base = run(recipe(tmp.resolve("base"), 1, "dpo.reference=base"), false, log);
        assertTrue(Math.abs(base.losses().get(0) - Math.log(2)) > 1e-4,
                "against the base the SFT-started policy is already off the reference: " + base.losses());
    }

    @Test
    void recipeKeysAreCheckedTogether() {
        String e = assertThrows(BadInputException.class, () -> recipe(tmp.resolve("x"), 1, "adapter.init_from=",
                "dpo.reference=adapter")).getMessage();
        assertTrue(e.contains("dpo.reference: adapter needs adapter.init_from"), e);
        e = assertThrows(BadInputException.class, () -> recipe(tmp.resolve("x"), 1, "method=kto", "data.sources=[{path: x}]"))
                .getMessage();
        assertTrue(e.contains("adapter.init_from: method kto starts from a fresh adapter"), e);
        e = assertThrows(BadInputException.class, () -> recipe(tmp.resolve("x"), 1, "adapter.name=reference")).getMessage();
        assertTrue(e.contains("adapter.name: 'reference'"), e);
    }
}
