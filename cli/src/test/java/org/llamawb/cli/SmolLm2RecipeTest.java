package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.train.Trainer;
import org.llamawb.model.LoadedModel;
import org.llamawb.model.generate.Generator;
import org.llamawb.model.generate.Sampling;
import org.llamawb.model.hub.HubEnvironment;
import org.llamawb.model.hub.HubMirror;

/**
 * {@code recipes/sft-smollm2-135m-vicuna.yaml} on the real SmolLM2-135M-Instruct (the Q4_1 GGUF of
 * {@link SmolLm2}), shortened to fit CI: LoRA on FastChat's conversations lowers the held-out loss (assistant
 * tokens only) and the sample answers still end at EOS ({@code <|im_end|>}, {@code finish_reason: stop}); then
 * {@code merge} into a full checkpoint, {@code export --format gguf} of that checkpoint and the exported file
 * opened again give the trained model's greedy answers token for token.
 */
class SmolLm2RecipeTest {
    private static final Path RECIPE = Path.of("..", "recipes", "sft-smollm2-135m-vicuna.yaml");

    @TempDir
    Path tmp;

    @Test
    void loraSftLowersHeldOutLossKeepsEosAndSurvivesMergeExportImport() throws Exception {
        Path gguf = SmolLm2.gguf();
        Path root = Path.of("..").toAbsolutePath().normalize();
        Path out = tmp.resolve("run");
        // The recipe's run, shortened: 12 steps of 4 conversations, the held-out loss on 16 of them.
        List<String> sets = List.of("model.path=" + gguf, "train.max_steps=12", "train.micro_batch_size=4",
                "train.warmup_steps=2", "train.log_every_steps=4", "eval.every_steps=0", "eval.on_start=true",
                "eval.max_batches=4", "eval.sample_max_new_tokens=48", "output.dir=" + out, "output.save_every_steps=0");
        Trainer.Result result;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (HubMirror mirror = RecipesTest.publicSources()) {
            HubEnvironment env = HubEnvironment.of(Map.of("HF_HOME", tmp.resolve("hf").toString(), "HF_ENDPOINT",
                    mirror.endpoint(), "WORKBENCH_CACHE", tmp.resolve("wb").toString(), "WORKBENCH_URL_MIRROR",
                    "https://=" + mirror.endpoint() + "/raw/"), new PrintStream(new ByteArrayOutputStream(), true), false);
            Recipe recipe = RecipesTest.rebase(RECIPE, root, sets, env);
            result = Trainer.run(new Trainer.Options(recipe, false, RecipesTest.journalOnly(out),
                    new PrintStream(log, true, StandardCharsets.UTF_8)));
        }
        String runLog = log.toString(StandardCharsets.UTF_8);
        assertEquals(12, result.steps(), runLog);
        double before = result.evalLosses().get(0L);
        double after = result.evalLosses().get(12L);
        assertTrue(after < 0.8 * before, "held-out loss " + before + " -> " + after + "\n" + runLog);
        System.out.printf("SmolLm2RecipeTest: held-out loss %.4f -> %.4f; samples:%n%s", before, after,
                Files.readString(out.resolve("samples.jsonl")));

        ObjectMapper json = new ObjectMapper();
        List<JsonNode> samples = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("samples.jsonl"))) {
            samples.add(json.readTree(line));
        }
        assertEquals(2, samples.size());
        for (JsonNode s : samples) {
            assertEquals("stop", s.get("finish_reason").asText(), "the answer ends at EOS: " + s);
        }

        Path adapter = result.output();
        Path merged = tmp.resolve("merged");
        Path exported = tmp.resolve("merged.gguf");
        cli("merge", "--model", gguf.toString(), "--adapter", adapter.toString(), "--out", merged.toString());
        cli("export", "--format", "gguf", "--model", merged.toString(), "--dtype", "f32", "--out", exported.toString());

        int[][] adapted = greedy(gguf, adapter, samples);
        int[][] imported = greedy(exported, null, samples);
        for (int i = 0; i < samples.size(); i++) {
            String prompt = samples.get(i).get("prompt").asText();
            assertEquals(samples.get(i).get("completion").asText(), decode(gguf, adapted[i]),
                    prompt + ": the saved adapter answers as the trained model did (samples.jsonl)");
            assertArrayEquals(adapted[i], imported[i], prompt + ": trained '" + decode(gguf, adapted[i])
                    + "', exported '" + decode(gguf, imported[i]) + "'");
        }
    }

    private static String decode(Path model, int[] ids) {
        try (var t = org.llamawb.model.tokenizer.LlamaTokenizer.load(model)) {
            return t.decode(ids);
        }
    }

    /**
     * Greedy answers to the samples' prompts in the model's own chat template, each ended by EOS (the model's only
     * stop id) before the limit; the EOS itself is not returned.
     */
    private static int[][] greedy(Path model, Path adapter, List<JsonNode> samples) {
        int max = 48;
        int[][] out = new int[samples.size()][];
        try (LoadedModel m = LoadedModel.open(model, null, "--tokenizer");
                AdapterAttachment a = adapter == null ? null : AdapterAttachment.attach(m.model(), adapter)) {
            assertEquals(java.util.Set.of(SmolLm2.EOS), m.stopIds(), model + ": EOS is <|im_end|>");
            for (int i = 0; i < out.length; i++) {
                String prompt = samples.get(i).get("prompt").asText();
                int[] ids = PromptRendering.encode(m.tokenizer(), prompt, "model", m.templateSource());
                out[i] = new Generator(m.model()).generate(ids, Sampling.greedy(max, m.stopIds()), t -> { });
                assertTrue(out[i].length < max, model + ": '" + prompt + "' ends at EOS within " + max + " tokens");
            }
        }
        return out;
    }

    private static void cli(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Workbench.standard().run(args, new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, code, String.join(" ", args) + ": " + err.toString(StandardCharsets.UTF_8));
    }
}
