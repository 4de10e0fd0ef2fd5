package org.llamawb.finetune.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.TargetModules;
import org.llamawb.adapters.score.RewardModel;
import org.llamawb.datasets.example.Origin;
import org.llamawb.datasets.synthetic.ArithmeticTask;
import org.llamawb.datasets.tokenize.TokenizedPrompt;
import org.llamawb.finetune.online.RewardModels;
import org.llamawb.finetune.online.Rollouts;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.finetune.rl.RuleRewardSpec;
import org.llamawb.finetune.rl.RuleRewards;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;
import org.llamawb.model.TestData;
import org.llamawb.model.generate.BatchedGenerator;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.tracking.TrackedRun;

/**
 * The reward model of {@code method: reward} as an online method's reward ({@code rewards: [{type: reward_model,
 * path: ...}]}): loaded as a frozen adapter beside the policy on the one base, it scores prompt ⧺ completion as the
 * reward model alone does, leaves the policy the active adapter and gets no gradients; a reward adapter that cannot be
 * read is named by its recipe key; and the chain runs: a {@code method: reward} run's adapter is PPO's reward, whose
 * {@code objective/scores} is its weighted score less the missing-EOS penalty.
 */
class RewardModelRewardTest {
    @TempDir
    Path tmp;

    static Path stories() {
        return TestData.require("models/stories260K/stories260K.bin");
    }

    static RuleRewards rewards(Path rewardDir) {
        return RuleRewards.compile(List.of(new RuleRewardSpec("regex", "says_the", null, "\\bThe\\b", null, null, null,
                null, null, null), new RuleRewardSpec("reward_model", "rm", 2.0, null, null, null, null, null, null,
                rewardDir.toString())), "rewards");
    }

    /** A reward adapter whose B factors are random too (so it changes the base), with its head, saved as PEFT does. */
    static Path writeRewardModel(Llama base, Path dir) {
        try (RewardModel rm = RewardModel.create(base, LoraConfig.of(4, 8,
                new TargetModules.Names(List.of("q_proj", "v_proj", "down_proj"))), 5)) {
            SplittableRandom r = new SplittableRandom(9);
            rm.parameters().forEach((k, v) -> {
                if (k.contains("lora_B")) {
                    float[] b = new float[(int) v.getShape().size()];
                    for (int i = 0; i < b.length; i++) {
                        b[i] = (float) (r.nextGaussian() * 0.05);
                    }
                    v.set(b);
                }
            });
            rm.save(dir, stories().toAbsolutePath().toString());
        }
        return dir;
    }

    @Test
    void scoresAsTheRewardModelAloneBesideAnActivePolicy() {
        int[][] prompts = {{1, 30, 31, 32}, {1, 40, 41}, {1, 50}};
        int[][] replies = {{60, 61, 2}, {70}, {80, 81, 82, 83}};
        List<TokenizedPrompt> ps = new ArrayList<>();
        List<BatchedGenerator.Completion> cs = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) {
            ps.add(new TokenizedPrompt("q" + i, new Origin("test", i + 1), prompts[i]));
            cs.add(new BatchedGenerator.Completion(replies[i], i == 0 ? "The end" : "no", BatchedGenerator.Finish.LENGTH));
        }
        double[][] got;
        Rollouts.Scored scored;
        float[] policyBefore;
        float[] policyAfter;
        try (NDManager m = NDManager.newBaseManager(); Llama base = Llama.load(Checkpoint.open(stories()), m)) {
            Path dir = writeRewardModel(base, tmp.resolve("rm"));
            try (LoraModel lora = new LoraModel(base)) {
                lora.add("default", LoraConfig.of(4, 8, new TargetModules.Names(List.of("q_proj", "o_proj"))), 1);
                // B = 0 would make the policy the base: a policy that differs shows the reward pass switched it off
                lora.parameters("default").entrySet().stream().filter(e -> e.getKey().contains("lora_B"))
                        .forEach(e -> e.getValue().set(filled((int) e.getValue().getShape().size(), 0.03f)));
                lora.activate("default");
                lora.setTraining(true);
                policyBefore = logits(base);
                RuleRewards rewards = rewards(dir);
                RewardModels models = RewardModels.load(lora, "default", rewards, 0, 2); // two rows a pass: a second pass
                assertEquals(1, models.size());
                assertTrue(lora.isActive("default") && !lora.isActive(RewardModels.ADAPTER_PREFIX + 0),
                        "loading leaves the policy the active adapter");
                got = models.score(ps, cs);
                scored = Rollouts.score(rewards, models, Map.of(), ps, cs);
                assertTrue(lora.isActive("default") && !lora.isActive(RewardModels.ADAPTER_PREFIX + 0), "after scoring");
                assertTrue(lora.isTraining(), "the training mode is put back");
                policyAfter = logits(base);
                assertTrue(lora.parameters(RewardModels.ADAPTER_PREFIX + 0).values().stream()
                        .noneMatch(a -> a.hasGradient()), "the reward adapter is frozen");
            }
            // the reward model alone on the base, one row at a time: its score at each sequence's last token
            try (RewardModel alone = RewardModel.load(base, dir)) {
                for (int i = 0; i < prompts.length; i++) {
                    int[] seq = concat(prompts[i], replies[i]);
                    long[] ids = new long[seq.length];
                    for (int t = 0; t < seq.length; t++) {
                        ids[t] = seq[t];
                    }
                    try (NDScope s = new NDScope()) {
                        float want = alone.scores(m.create(ids, new Shape(1, ids.length)), new int[] {ids.length}, false)
                                .getFloat(0);
                        assertEquals(want, got[i][0], 1e-5, "row " + i);
                        assertArrayEquals(new double[] {i == 0 ? 1 : 0, got[i][0]}, scored.each()[i], 0.0,
                                "the rule's and the model's column, row " + i);
                    }
                }
            }
        }
        assertArrayEquals(policyBefore, policyAfter, "the policy computes what it did before the reward passes");
        assertNotEquals(got[0][0], got[1][0], "different sequences, different rewards");
        assertEquals((got[0][0] + got[1][0] + got[2][0]) / 3, scored.metrics().get("rewards/rm/mean"), 1e-12);
    }

    static float[] filled(int n, float v) {
        float[] out = new float[n];
        java.util.Arrays.fill(out, v);
        return out;
    }

    static float[] logits(Llama base) {
        try (NDScope s = new NDScope()) {
            return base.forward(base.manager().create(new long[] {1, 20, 21, 22}, new Shape(1, 4)), null, null, false)
                    .toFloatArray();
        }
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void anUnreadableRewardAdapterIsNamedByItsKey() {
        try (NDManager m = NDManager.newBaseManager(); Llama base = Llama.load(Checkpoint.open(stories()), m);
                LoraModel lora = new LoraModel(base)) {
            BadInputException e = assertThrows(BadInputException.class,
                    () -> RewardModels.load(lora, "default", rewards(tmp.resolve("missing")), 0, 2));
            assertTrue(e.getMessage().startsWith("rewards[1].path: "), e.getMessage());
            assertTrue(e.getMessage().contains("not a PEFT adapter directory"), e.getMessage());
        }
        BadInputException e = assertThrows(BadInputException.class, () -> RuleRewards.compile(List.of(new RuleRewardSpec(
                "reward_model", null, null, "x", null, null, null, null, null, "dir")), "rewards"));
        assertTrue(e.getMessage().startsWith("rewards[0].pattern: not used by type reward_model"), e.getMessage());
    }

    Recipe recipe(List<String> overrides) throws IOException {
        var tree = RecipeLoader.readTree(Files.writeString(tmp.resolve("r.yaml"),
                "model: {path: x}\ndata: {sources: [{path: x}]}\n"));
        for (String s : overrides) {
            RecipeLoader.applyOverride(tree, s);
        }
        return RecipeLoader.bind(tree, Recipe.class, "test");
    }

    Trainer.Result run(Recipe r, ByteArrayOutputStream log) {
        Path out = Path.of(r.output().dir());
        try (TrackedRun run = PreferenceTrainingResumeTest.journalOnly(out)) {
            return Trainer.run(new Trainer.Options(r, false, run, new PrintStream(log, true)));
        } catch (RuntimeException e) {
            throw new AssertionError(e.getMessage() + "\n" + log, e);
        }
    }

    @Test
    void ppoTakesTheRewardModelOfAMethodRewardRun() throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Path pairs = tmp.resolve("pairs.jsonl");
        new ArithmeticTask(5, 5).write(pairs, ArithmeticTask.Kind.PAIRS, 40, 7);
        Path rewardRun = tmp.resolve("reward");
        List<String> common = List.of("model.path=" + stories(), "data.template=llama-2", "data.max_length=128",
                "adapter.type=lora", "adapter.r=4", "adapter.target_modules=all-linear", "train.micro_batch_size=4",
                "train.gradient_accumulation_steps=2", "train.learning_rate=5e-3", "train.seed=3", "eval.every_steps=0",
                "eval.on_start=false");
        List<String> reward = new ArrayList<>(common);
        reward.addAll(List.of("method=reward", "data.sources=[{path: " + pairs + ", format: preference}]",
                "data.validation_fraction=0", "train.max_steps=2", "output.dir=" + rewardRun));
        run(recipe(reward), log);
        byte[] rewardBytes = Files.readAllBytes(rewardRun.resolve("adapter/adapter_model.safetensors"));

        Path prompts = tmp.resolve("prompts.jsonl");
        new ArithmeticTask(5, 5).write(prompts, ArithmeticTask.Kind.PROMPTS, 40, 3);
        Path ppoRun = tmp.resolve("ppo");
        List<String> ppo = new ArrayList<>(common);
        ppo.addAll(List.of("method=ppo", "data.sources=[{path: " + prompts + ", format: prompts}]",
                "data.validation_fraction=0.1", "train.max_steps=2", "ppo.response_length=6", "ppo.missing_eos_penalty=0.5",
                "ppo.num_ppo_epochs=2", "eval.max_batches=1", "output.dir=" + ppoRun,
                "rewards=[{name: rm, type: reward_model, weight: 2.0, path: " + rewardRun.resolve("adapter") + "}]"));
        Trainer.Result result = run(recipe(ppo), log);
        assertEquals(2, result.steps(), log.toString());
        assertTrue(result.losses().stream().allMatch(Double::isFinite), result.losses() + "\n" + log);
        assertTrue(log.toString().contains("reward 'rm': the reward model in " + rewardRun.resolve("adapter")), log.toString());
        double rm = LearningCanBeCheckedTest.metric(ppoRun, "rewards/rm/mean").get(1L);
        double cut = LearningCanBeCheckedTest.metric(ppoRun, "completions/clipped_ratio").get(1L);
        assertNotEquals(0.0, rm, "a score head's output, not a placeholder");
        assertEquals(2.0 * rm - 0.5 * cut, LearningCanBeCheckedTest.metric(ppoRun, "objective/scores").get(1L), 1e-6,
                "the score is the weighted reward model's less missing_eos_penalty per cut reply");
        assertTrue(LearningCanBeCheckedTest.metric(ppoRun, "eval_rewards/rm/mean").containsKey(2L), "held-out too");
        assertArrayEquals(rewardBytes, Files.readAllBytes(rewardRun.resolve("adapter/adapter_model.safetensors")),
                "the reward adapter is read, never written");
        assertTrue(Files.readString(ppoRun.resolve("adapter/adapter_config.json")).contains("CAUSAL_LM"),
                "the run's adapter is the policy alone");
        assertFalse(Files.readString(ppoRun.resolve("adapter/adapter_config.json")).contains("score"));
    }
}
