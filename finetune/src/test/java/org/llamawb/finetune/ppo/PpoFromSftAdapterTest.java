package org.llamawb.finetune.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.finetune.dpo.ReferenceAdapterTest;
import org.llamawb.finetune.online.Rollouts;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.finetune.train.Replica;
import org.llamawb.finetune.train.Trainer;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;
import org.llamawb.model.TestData;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.tracking.RunSpec;
import org.llamawb.tracking.TrackedRun;
import org.llamawb.tracking.Tracker;
import org.llamawb.tracking.TrackingSettings;

/**
 * PPO and GRPO whose policy starts from an SFT adapter ({@code adapter.init_from}), the InstructGPT / ColossalChat
 * set-up: the reference is then the frozen SFT adapter ({@code ppo.reference: adapter}, the default), so PPO's reference
 * log-probabilities are the SFT model's, not the base's, even after the policy has moved; the first rollout's KL and the
 * held-out KL before training are 0; a run stopped and resumed from its checkpoint equals the uninterrupted one; with
 * {@code reference: base} the SFT-started policy is already away from its reference.
 */
class PpoFromSftAdapterTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    Path sft;

    static Path stories() {
        return TestData.require("models/stories260K/stories260K.bin");
    }

    Recipe recipe(String method, Path out, int steps, String... more) throws IOException {
        if (sft == null) {
            sft = ReferenceAdapterTest.writeSftAdapter(stories(), tmp.resolve("sft"), 3);
        }
        Path prompts = Path.of("..").toAbsolutePath().normalize().resolve("recipes/data/grpo-arith-prompts.jsonl");
        var tree = RecipeLoader.readTree(Files.writeString(tmp.resolve("r.yaml"), "model: {path: x}\ndata: {sources: [{path: x}]}\n"));
        List<String> sets = new ArrayList<>(List.of("method=" + method, "model.path=" + stories(),
                "data.sources=[{path: " + prompts + ", format: prompts}]", "data.template=llama-2", "data.max_length=128",
                "data.validation_fraction=0.02", "adapter.type=lora", "adapter.r=8", "adapter.target_modules=all-linear",
                "adapter.init_from=" + sft, "train.max_steps=" + steps, "train.micro_batch_size=8",
                "train.learning_rate=3e-3", "train.lr_schedule=constant", "train.seed=5", "train.log_every_steps=1",
                "eval.every_steps=0", "eval.on_start=true", "eval.max_batches=1", "eval.sample_prompts=[]",
                "output.dir=" + out, "output.save_every_steps=2",
                "rewards=[{name: says_the, type: regex, pattern: '\\bThe\\b'}]"));
        sets.addAll(method.equals("ppo")
                ? List.of("ppo.num_ppo_epochs=2", "ppo.response_length=8", "ppo.temperature=1.0", "ppo.kl_coef=0.2")
                : List.of("grpo.num_generations=4", "grpo.max_completion_length=8", "grpo.beta=0.2"));
        sets.addAll(List.of(more));
        for (String s : sets) {
            RecipeLoader.applyOverride(tree, s);
        }
        return RecipeLoader.bind(tree, Recipe.class, "test");
    }

    static Trainer.Result run(Recipe r, boolean resume, ByteArrayOutputStream log) {
        Path out = Path.of(r.output().dir());
        try (TrackedRun run = new Tracker(TrackingSettings.journalOnly("test").withSystemMetricsInterval(Duration.ZERO)
                .withNotices(s -> { })).start(RunSpec.of(out, out.getFileName().toString()))) {
            return Trainer.run(new Trainer.Options(r, resume, run, new PrintStream(log, true)));
        } catch (RuntimeException e) {
            throw new AssertionError(e.getMessage() + "\n" + log, e);
        }
    }

    static Map<Long, Double> metric(Path out, String key) throws IOException {
        Map<Long, Double> byStep = new TreeMap<>();
        for (String line : Files.readAllLines(out.resolve("tracking/journal.jsonl"))) {
            JsonNode e = JSON.readTree(line);
            if ("metric".equals(e.path("type").asText()) && key.equals(e.path("key").asText())) {
                byStep.put(e.path("step").asLong(), e.path("value").asDouble());
            }
        }
        return byStep;
    }

    /** Per-token log-probabilities of {@code ids} under the base with {@code adapter} alone (null: the base). */
    static float[] logprobsOf(Path adapter, int[][] ids) {
        try (NDManager m = NDManager.newBaseManager(); Llama model = Llama.load(Checkpoint.open(stories()), m);
                LoraModel lora = new LoraModel(model)) {
            if (adapter != null) {
                PeftAdapterFormat.read(lora, "sft", adapter);
                lora.activate("sft");
            }
            lora.setTraining(false);
            return Rollouts.logprobs(model, lora, ids, 1.0, false);
        }
    }

    @Test
    void theReferenceIsTheFrozenSftAdapterWhileThePolicyMoves() throws Exception {
        int[][] ids = {{1, 40, 41, 42, 43, 44}, {1, 50, 60, 70, 80, 90}};
        recipe("ppo", tmp.resolve("unused"), 1); // writes the SFT adapter
        float[] sftModel = logprobsOf(sft, ids);
        float[] base = logprobsOf(null, ids);
        assertFalse(Arrays.equals(sftModel, base), "the SFT adapter changes the model");
        for (String reference : List.of("adapter", "base")) {
            Recipe r = recipe("ppo", tmp.resolve("replica-" + reference), 1, "ppo.reference=" + reference);
            try (Replica replica = Replica.open(r, Optional.empty(), new PrintStream(new ByteArrayOutputStream(), true))) {
                PpoMethod ppo = (PpoMethod) replica.method();
                float[] before = ppo.referenceLogprobs(ids);
                float[] policyBefore = ppo.policyLogprobs(ids);
                // the policy moves away from where it started, as training would move it
                SplittableRandom rng = new SplittableRandom(1);
                for (Map.Entry<String, NDArray> e : replica.params().entrySet()) {
                    if (e.getKey().contains("lora_") && !e.getKey().startsWith(Critic.PREFIX)) {
                        float[] v = e.getValue().toFloatArray();
                        for (int i = 0; i < v.length; i++) {
                            v[i] += (float) (rng.nextGaussian() * 0.05);
                        }
                        e.getValue().set(v);
                    }
                }
                float[] ref = ppo.referenceLogprobs(ids);
                assertArrayEquals(reference.equals("adapter") ? sftModel : base, ref, 1e-5f,
                        "ppo.reference: " + reference + ": the reference's log-probabilities");
                assertArrayEquals(before, ref, "the reference does not move with the policy");
                assertFalse(Arrays.equals(policyBefore, ppo.policyLogprobs(ids)), "the policy has moved");
                if (reference.equals("adapter")) {
                    assertArrayEquals(sftModel, policyBefore, 1e-5f, "the policy starts as the SFT model");
                }
            }
        }
    }

    @Test
    void ppoStartsAtTheSftModelWithKlZeroAndResumesExactly() throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Path whole = tmp.resolve("whole");
        Recipe r = recipe("ppo", whole, 4);
        assertEquals("adapter", r.ppo().reference(), "the default with adapter.init_from");
        Trainer.Result a = run(r, false, log);
        assertTrue(log.toString().contains("reference model: the base with the frozen adapter " + sft
                + " (ppo.reference: adapter)"), log.toString());
        assertEquals(0.0, metric(whole, "eval_kl").get(0L), 1e-6, "held-out KL before training\n" + log);
        assertEquals(0.0, metric(whole, "objective/kl").get(1L), 1e-6, "the first rollout's KL");
        assertTrue(metric(whole, "objective/kl").get(3L) != 0, "after two updates the policy has moved: "
                + metric(whole, "objective/kl"));
        JsonNode config = JSON.readTree(whole.resolve("adapter/adapter_config.json").toFile());
        assertEquals(4, config.get("r").asInt(), "the SFT adapter's rank, not adapter.r");

        Path parts = tmp.resolve("parts");
        run(recipe("ppo", parts, 2), false, log);
        Trainer.Result b = run(recipe("ppo", parts, 4), true, log);
        assertEquals(a.losses(), b.losses(), "losses of the resumed run\n" + log);
        assertEquals(metric(whole, "objective/kl"), metric(parts, "objective/kl"), "the rollouts' KL to the SFT adapter");
        assertArrayEquals(Files.readAllBytes(whole.resolve("adapter/adapter_model.safetensors")),
                Files.readAllBytes(parts.resolve("adapter/adapter_model.safetensors")), "adapters");

        Path base = tmp.resolve("base");
        run(recipe("ppo", base, 1, "ppo.reference=base"), false, log);
        assertTrue(metric(base, "eval_kl").get(0L) > 1e-3, "against the base the SFT-started policy is already off "
                + "its reference: " + metric(base, "eval_kl"));
    }

    @Test
    void grpoStartsAtTheSftModelWithKlZero() throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Path out = tmp.resolve("grpo");
        Recipe r = recipe("grpo", out, 2, "output.save_every_steps=0");
        assertEquals("adapter", r.grpo().reference(), "the default with adapter.init_from");
        run(r, false, log);
        assertTrue(log.toString().contains("(grpo.reference: adapter)"), log.toString());
        assertEquals(0.0, metric(out, "eval_kl").get(0L), 1e-6, "held-out KL before training\n" + log);
        assertEquals(0.0, metric(out, "kl").get(1L), 1e-6, "the first step's KL\n" + log);
        Path base = tmp.resolve("grpo-base");
        run(recipe("grpo", base, 1, "output.save_every_steps=0", "grpo.reference=base"), false, log);
        assertTrue(metric(base, "eval_kl").get(0L) > 1e-4, "against the base: " + metric(base, "eval_kl"));
    }

    @Test
    void theReferenceKeyIsChecked() {
        String e = assertThrows(BadInputException.class, () -> recipe("ppo", tmp.resolve("x"), 1, "adapter.init_from=",
                "ppo.reference=adapter")).getMessage();
        assertTrue(e.contains("ppo.reference: adapter needs adapter.init_from"), e);
        e = assertThrows(BadInputException.class, () -> recipe("grpo", tmp.resolve("x"), 1, "grpo.reference=sft"))
                .getMessage();
        assertTrue(e.endsWith("grpo.reference: expected base or adapter, got 'sft'"), e);
        e = assertThrows(BadInputException.class, () -> recipe("ppo", tmp.resolve("x"), 1, "adapter.name=reference"))
                .getMessage();
        assertTrue(e.contains("adapter.name: 'reference' is the frozen reference adapter's name with ppo.reference"), e);
    }
}
