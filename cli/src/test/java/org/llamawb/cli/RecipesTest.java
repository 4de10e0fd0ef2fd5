package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.model.TestData;
import org.llamawb.model.hub.HubEnvironment;
import org.llamawb.model.hub.HubMirror;
import org.llamawb.model.hub.Sources;

/**
 * Every training recipe in recipes/ (and in its chain folders, e.g. recipes/chain-stories260k/) binds, and every one
 * whose model is here runs two steps (a chain's stages in {@link ChainRecipeTest}: each reads the previous output).
 */
class RecipesTest {
    @TempDir
    Path tmp;

    static List<Path> recipes() throws Exception {
        Path dir = Path.of("..", "recipes");
        // recipes/*.yaml and the stages of a chain, recipes/chain-*/N-method.yaml (recipes/eval holds eval recipes)
        try (Stream<Path> s = Files.walk(dir, 2)) {
            return s.filter(p -> p.toString().endsWith(".yaml"))
                    .filter(p -> p.getParent().equals(dir) || p.getParent().getFileName().toString().startsWith("chain-"))
                    .sorted().toList();
        }
    }

    /** Whether the recipe is a stage of a chain (recipes/chain-NAME/N-METHOD.yaml). */
    static boolean isChainStage(Path p) {
        return p.getParent().getFileName().toString().startsWith("chain-");
    }

    @Test
    void everyRecipeBinds() throws Exception {
        List<Path> all = recipes();
        assertTrue(all.size() >= 8, "recipes/ holds the SFT, DPO, KTO and reward recipes: " + all);
        assertTrue(all.stream().filter(RecipesTest::isChainStage).count() >= 6, "the stories260K and Llama-2-7B chains: "
                + all);
        for (Path p : all) {
            Recipe r = RecipeLoader.load(p, Recipe.class, List.of());
            // METHOD-*.yaml, or a chain's stage N-METHOD.yaml
            String name = p.getFileName().toString().replaceFirst("^\\d+-", "").replaceFirst("\\.yaml$", "-");
            String expected = name.startsWith("dpo-") ? "dpo" : name.startsWith("kto-") ? "kto"
                    : name.startsWith("reward-") ? "reward" : name.startsWith("grpo-") ? "grpo"
                    : name.startsWith("ppo-") ? "ppo" : "sft";
            assertEquals(expected, r.method(), p.toString());
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
            if (Sources.isRemote(path)) {
                continue; // checked with its sources fetched in everyCpuRecipeRunsTwoSteps
            }
            Recipe rebased = rebase(p, cwd, List.of(), HubEnvironment.system());
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
        try (HubMirror mirror = publicSources()) {
            HubEnvironment env = HubEnvironment.of(Map.of("HF_HOME", tmp.resolve("hf").toString(), "HF_ENDPOINT", mirror.endpoint(),
                    "WORKBENCH_CACHE", tmp.resolve("wb").toString(), "WORKBENCH_URL_MIRROR", "https://=" + mirror.endpoint() + "/raw/"),
                    new PrintStream(new ByteArrayOutputStream(), true), false);
            for (Path p : recipes()) {
                runTwoSteps(p, cwd, env);
            }
        }
    }

    /**
     * The public sources recipes name ({@code hf:} models, {@code https://} data), served from
     * {@code ../shared/data} by a loopback Hub as {@code .ci/hub_mirror.py} serves them in CI.
     */
    static HubMirror publicSources() throws java.io.IOException {
        return HubMirror.start()
                .model("karpathy/tinyllamas", "stories260K/stories260K.bin", TestData.require("models/stories260K/stories260K.bin"))
                .model("karpathy/tinyllamas", "stories260K/tok512.bin", TestData.require("models/stories260K/tok512.bin"))
                .model("karpathy/tinyllamas", "stories260K/tok512.model", TestData.require("models/stories260K/tok512.model"))
                .raw("raw.githubusercontent.com/lm-sys/FastChat/0e6d3e4beaab66f4d3f93db72541a4abab8af28d/data/dummy_conversation.json",
                        TestData.require("sft/fastchat-dummy-conversation/dummy_conversation.json"));
    }

    /**
     * Recipes whose model the loopback Hub does not serve, with the test that runs them on a local copy instead
     * (SmolLM2: the GGUF of a PyPI package, not the Hub's safetensors the recipe names).
     */
    static final Map<String, String> RUN_BY_OWN_TEST = Map.of("sft-smollm2-135m-vicuna.yaml", "SmolLm2RecipeTest");

    private void runTwoSteps(Path p, Path cwd, HubEnvironment env) throws Exception {
        if (RUN_BY_OWN_TEST.containsKey(p.getFileName().toString()) || isChainStage(p)) {
            return; // a later stage reads the output of an earlier one: ChainRecipeTest runs them in order
        }
        Recipe r = RecipeLoader.load(p, Recipe.class, List.of());
        String path = r.model().path() != null ? r.model().path() : r.model().tokenizer();
        if (!Sources.isRemote(path) && !Files.exists(cwd.resolve(path))) {
            return; // e.g. Llama-2-7B: not on this machine
        }
        Path out = tmp.resolve(p.getFileName().toString().replace(".yaml", ""));
        List<String> sets = List.of("train.max_steps=2", "output.dir=" + out, "eval.every_steps=0",
                "eval.sample_max_new_tokens=4");
        Recipe rebased = rebase(p, cwd, sets, env);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        var result = org.llamawb.finetune.train.Trainer.run(new org.llamawb.finetune.train.Trainer.Options(rebased,
                false, journalOnly(out), new PrintStream(log, true)));
        assertEquals(2, result.steps(), p + "\n" + log);
        assertTrue(Files.isDirectory(result.output()), p.toString());
    }

    /**
     * The recipe with its relative paths resolved against the repository root (tests run in cli/), and its
     * remote sources fetched in {@code env} (the environment variables of a test process cannot be set).
     */
    static Recipe rebase(Path recipe, Path root, List<String> sets, HubEnvironment env) throws Exception {
        var tree = RecipeLoader.readTree(recipe);
        for (String s : sets) {
            RecipeLoader.applyOverride(tree, s);
        }
        var model = (com.fasterxml.jackson.databind.node.ObjectNode) tree.get("model");
        for (String key : List.of("path", "tokenizer")) {
            if (model.hasNonNull(key)) {
                model.put(key, Sources.resolve(model.get(key).asText(), root, env).toString());
            }
        }
        for (var source : tree.get("data").get("sources")) {
            ((com.fasterxml.jackson.databind.node.ObjectNode) source).put("path",
                    Sources.resolve(source.get("path").asText(), root, env).toString());
        }
        return RecipeLoader.bind(tree, Recipe.class, recipe.toString());
    }

    static org.llamawb.tracking.TrackedRun journalOnly(Path out) {
        return new org.llamawb.tracking.Tracker(org.llamawb.tracking.TrackingSettings.journalOnly("test")
                .withSystemMetricsInterval(java.time.Duration.ZERO).withNotices(s -> { }))
                .start(org.llamawb.tracking.RunSpec.of(out, out.getFileName().toString()));
    }
}
