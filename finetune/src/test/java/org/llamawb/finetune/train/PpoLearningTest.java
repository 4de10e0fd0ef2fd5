package org.llamawb.finetune.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.model.TestData;
import org.llamawb.tracking.TrackedRun;

/**
 * Learning that can be checked: recipes/ppo-stories260k-arith.yaml, shortened, raises the mean reward of the
 * held-out prompts (sampled as in training, from the same stream before and after) clearly above the pretrained
 * stories260K's, while the held-out KL to the reference (summed per reply, k1) stays under the recipe's
 * {@code ppo.kl_target}. The full run's numbers are in bench/BENCHMARKS.md.
 */
class PpoLearningTest {
    static final int STEPS = Integer.getInteger("ppo.learning.steps", 20);

    @TempDir
    Path tmp;

    @Test
    void heldOutRewardRisesWhileKlStaysUnderTheTarget() throws Exception {
        Path root = Path.of("..").toAbsolutePath().normalize(); // the recipe's paths are relative to the repository root
        var tree = RecipeLoader.readTree(root.resolve("recipes/ppo-stories260k-arith.yaml"));
        Path out = tmp.resolve("ppo");
        for (String s : List.of("model.path=" + TestData.require("models/stories260K/stories260K.bin"),
                "data.sources=[{path: " + root.resolve("recipes/data/grpo-arith-prompts.jsonl") + ", format: prompts}]",
                "train.max_steps=" + STEPS, "eval.every_steps=" + STEPS, "eval.sample_prompts=[]", "output.dir=" + out,
                "output.save_every_steps=0")) {
            RecipeLoader.applyOverride(tree, s);
        }
        Recipe r = RecipeLoader.bind(tree, Recipe.class, "test");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        try (TrackedRun run = PreferenceTrainingResumeTest.journalOnly(out)) {
            Trainer.run(new Trainer.Options(r, false, run, new PrintStream(log, true)));
        } catch (RuntimeException e) {
            throw new AssertionError(e.getMessage() + "\n" + log, e);
        }
        Map<Long, Double> reward = LearningCanBeCheckedTest.metric(out, "eval_reward");
        Map<Long, Double> kl = LearningCanBeCheckedTest.metric(out, "eval_kl");
        System.out.printf("ppo: eval_reward %s, eval_kl %s, objective/scores %s, kl_coef %s in %.1f s%n", reward, kl,
                LearningCanBeCheckedTest.metric(out, "objective/scores"),
                LearningCanBeCheckedTest.metric(out, "objective/kl_coef"), (System.nanoTime() - t0) / 1e9);
        assertEquals(2, reward.size(), reward + "\n" + log);
        double before = reward.get(0L);
        double after = reward.get((long) STEPS);
        assertTrue(before <= 0.25, "before training the model rarely writes the answer format's first word: " + reward);
        assertTrue(after >= before + 0.25, "after " + STEPS + " steps: " + reward + "\n" + log);
        assertTrue(kl.get((long) STEPS) < r.ppo().klTarget(), "held-out KL to the reference: " + kl + "\n" + log);
        assertEquals(0.0, LearningCanBeCheckedTest.metric(out, "eval_rewards/exact/mean").get((long) STEPS),
                "a 260K story model does not learn arithmetic from a reward it never earns");
    }
}
