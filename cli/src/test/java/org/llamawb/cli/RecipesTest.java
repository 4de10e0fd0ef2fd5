package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.model.TestData;

/** Every training recipe in recipes/ binds, and every one whose model is here runs two steps. */
class RecipesTest {
    @TempDir
    Path tmp;

    static List<Path> recipes() throws Exception {
        Path dir = Path.of("..", "recipes");
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
    }

    @Test
    void everyRecipeBinds() throws Exception {
        List<Path> all = recipes();
        assertTrue(all.size() >= 8, "recipes/ holds the SFT, DPO and KTO recipes: " + all);
        for (Path p : all) {
            Recipe r = RecipeLoader.load(p, Recipe.class, List.of());
            String name = p.getFileName().toString();
            assertEquals(name.startsWith("dpo-") ? "dpo" : name.startsWith("kto-") ? "kto" : "sft", r.method(), p.toString());
            assertFalse(r.data().sources().isEmpty(), p.toString());
        }
    }

    @Test
    void everyCpuRecipePassesFinetunesChecksBeforeARun() throws Exception {
        TestData.require("models/stories260K/stories260K.bin");
        Path cwd = Path.of("..").toAbsolutePath().normalize();
        int checked = 0;
        for (Path p : recipes()) {
            Recipe r = RecipeLoader.load(p, Recipe.class, List.of());
            String path = r.model().path() != null ? r.model().path() : r.model().tokenizer();
            if (!Files.exists(cwd.resolve(path))) {
                continue;
            }
            Recipe rebased = rebase(p, cwd, List.of());
            FinetuneCommand.checkModel(rebased.model(), rebased.data().template());
            FinetuneCommand.checkData(rebased);
            checked++;
        }
        assertTrue(checked >= 2, "model.path and model.init recipes: " + checked);
    }

    @Test
    void everyCpuRecipeRunsTwoSteps() throws Exception {
        TestData.require("models/stories260K/stories260K.bin");
        Path cwd = Path.of("..").toAbsolutePath().normalize(); // recipes use paths relative to the repository root
        for (Path p : recipes()) {
            Recipe r = RecipeLoader.load(p, Recipe.class, List.of());
            String path = r.model().path() != null ? r.model().path() : r.model().tokenizer();
            if (!Files.exists(cwd.resolve(path))) {
                continue; // e.g. Llama-2-7B: not on this machine
            }
            Path out = tmp.resolve(p.getFileName().toString().replace(".yaml", ""));
            List<String> sets = List.of("train.max_steps=2", "output.dir=" + out, "eval.every_steps=0",
                    "eval.sample_max_new_tokens=4");
            Recipe rebased = rebase(p, cwd, sets);
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            var result = org.llamawb.finetune.train.Trainer.run(new org.llamawb.finetune.train.Trainer.Options(rebased,
                    false, journalOnly(out), new PrintStream(log, true)));
            assertEquals(2, result.steps(), p + "\n" + log);
            assertTrue(Files.isDirectory(result.output()), p.toString());
        }
    }

    /** The recipe with its relative paths resolved against the repository root (tests run in cli/). */
    static Recipe rebase(Path recipe, Path root, List<String> sets) throws Exception {
        var tree = RecipeLoader.readTree(recipe);
        for (String s : sets) {
            RecipeLoader.applyOverride(tree, s);
        }
        var model = (com.fasterxml.jackson.databind.node.ObjectNode) tree.get("model");
        for (String key : List.of("path", "tokenizer")) {
            if (model.hasNonNull(key)) {
                model.put(key, root.resolve(model.get(key).asText()).toString());
            }
        }
        for (var source : tree.get("data").get("sources")) {
            ((com.fasterxml.jackson.databind.node.ObjectNode) source).put("path", root.resolve(source.get("path").asText()).toString());
        }
        return RecipeLoader.bind(tree, Recipe.class, recipe.toString());
    }

    static org.llamawb.tracking.TrackedRun journalOnly(Path out) {
        return new org.llamawb.tracking.Tracker(org.llamawb.tracking.TrackingSettings.journalOnly("test")
                .withSystemMetricsInterval(java.time.Duration.ZERO).withNotices(s -> { }))
                .start(org.llamawb.tracking.RunSpec.of(out, out.getFileName().toString()));
    }
}
