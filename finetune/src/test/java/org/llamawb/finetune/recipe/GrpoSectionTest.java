package org.llamawb.finetune.recipe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.finetune.rl.LossAggregation;
import org.llamawb.finetune.rl.RewardScaling;
import org.llamawb.model.BadInputException;

/** The {@code grpo:} section and {@code rewards:} list: TRL's defaults, and every refusal names its key. */
class GrpoSectionTest {
    @TempDir
    Path tmp;

    static final String GRPO = """
            method: grpo
            model: {path: some/model}
            adapter: {type: lora}
            data: {sources: [{path: prompts.jsonl}]}
            train: {micro_batch_size: 8}
            rewards:
              - {type: contains, text: The}
            """;

    Recipe load(String yaml, String... sets) throws Exception {
        return RecipeLoader.load(Files.writeString(tmp.resolve("r.yaml"), yaml), Recipe.class, List.of(sets));
    }

    String error(String yaml, String... sets) throws Exception {
        Path f = Files.writeString(tmp.resolve("r.yaml"), yaml);
        String m = assertThrows(BadInputException.class, () -> RecipeLoader.load(f, Recipe.class, List.of(sets))).getMessage();
        assertEquals(1, m.lines().count(), "one line: " + m);
        return m;
    }

    @Test
    void trlDefaults() throws Exception {
        GrpoSection g = load(GRPO).grpo();
        assertEquals(8, g.numGenerations());
        assertEquals(256, g.maxCompletionLength());
        assertEquals(1.0, g.temperature());
        assertEquals(1, g.numIterations());
        assertEquals(0.2, g.epsilon());
        assertEquals(0.2, g.epsilonHigh(), "epsilon_high defaults to epsilon");
        assertEquals(0.0, g.beta());
        assertEquals(LossAggregation.DAPO, g.lossSettings().aggregation());
        assertEquals(RewardScaling.GROUP, g.rewardScaling());
        assertEquals("answer", g.answerField());
        GrpoSection set = load(GRPO, "grpo.epsilon_high=0.28", "grpo.scale_rewards=none", "grpo.loss_type=dr_grpo").grpo();
        assertEquals(0.28, set.lossSettings().epsilonHigh());
        assertEquals(RewardScaling.NONE, set.rewardScaling());
        assertEquals(LossAggregation.DR_GRPO, set.lossSettings().aggregation());
    }

    @Test
    void badSettingsNameTheirKey() throws Exception {
        assertTrue(error(GRPO, "grpo.num_generations=1").contains("grpo.num_generations must be >= 2"));
        assertTrue(error(GRPO, "grpo.temperature=0").contains("grpo.temperature must be"));
        assertTrue(error(GRPO, "grpo.top_p=1.5").contains("grpo.top_p must be within (0, 1]"));
        assertTrue(error(GRPO, "grpo.loss_type=sum").contains("grpo.loss_type: unknown 'sum'"));
        assertTrue(error(GRPO, "grpo.scale_rewards=sometimes").contains("grpo.scale_rewards: unknown 'sometimes'"));
        assertTrue(error(GRPO, "grpo.beta=-1").contains("grpo.beta must be"));
        assertTrue(error(GRPO, "grpo.stop_strings=['']").contains("grpo.stop_strings[0] must be"));
        assertTrue(error(GRPO, "grpo.num_genrations=4").contains("unknown key 'grpo.num_genrations'"));
    }

    @Test
    void theStepMustHoldWholeGroupsAndCheckpointsFallBetweenGenerationBatches() throws Exception {
        String m = error(GRPO, "train.micro_batch_size=6");
        assertTrue(m.contains("train.micro_batch_size × train.gradient_accumulation_steps (6 completions per step)")
                && m.contains("grpo.num_generations (8)"), m);
        m = error(GRPO, "grpo.num_iterations=2", "output.save_every_steps=3");
        assertTrue(m.contains("output.save_every_steps (3) must be a multiple of grpo.num_iterations (2)"), m);
        assertEquals(4, load(GRPO, "grpo.num_iterations=2", "output.save_every_steps=4").output().saveEverySteps());
    }

    @Test
    void rewardsAreCheckedWhenTheRecipeLoads() throws Exception {
        assertTrue(error(GRPO.replace("rewards:\n  - {type: contains, text: The}\n", ""))
                .contains("rewards: at least one reward is required"));
        assertTrue(error(GRPO, "rewards=[{type: regex, pattern: '('}]").contains("rewards[0].pattern: not a valid"));
        assertTrue(error(GRPO, "rewards=[{type: contains, text: a}, {type: contains, text: b}]")
                .contains("rewards[1].name: 'contains' is used twice"));
        assertTrue(error(GRPO, "rewards=[{type: contains, text: a, pattern: x}]")
                .contains("rewards[0].pattern: not used by type contains"));
        String m = error(GRPO, "rewards=[{type: contains, txt: a}]");
        assertTrue(m.contains("unknown key") && m.contains("txt"), m);
    }

    @Test
    void grpoSettingsAndRewardsBelongToMethodGrpo() throws Exception {
        assertTrue(error(GRPO, "method=dpo", "grpo.beta=0.1").contains("grpo: settings given but method is dpo"));
        assertTrue(error(GRPO, "method=dpo").contains("rewards: given but method is dpo"));
        assertTrue(error(GRPO, "method=sft").contains("rewards: given but method is sft"));
        assertTrue(error(GRPO, "adapter.type=none").contains("method: grpo needs adapter.type: lora"));
    }
}
