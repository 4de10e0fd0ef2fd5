package org.llamawb.finetune.recipe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.finetune.rl.KlEstimator;
import org.llamawb.model.BadInputException;

/** The {@code ppo:} section: TRL's PPOConfig defaults, and every refusal names its key. */
class PpoSectionTest {
    @TempDir
    Path tmp;

    static final String PPO = """
            method: ppo
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
        PpoSection p = load(PPO).ppo();
        assertEquals(4, p.numPpoEpochs());
        assertEquals(1, p.numMiniBatches());
        assertEquals(53, p.responseLength());
        assertEquals(0.7, p.temperature());
        assertEquals(0.05, p.klCoef());
        assertEquals(KlEstimator.K1, p.estimator());
        assertNull(p.initialController(), "no kl_target: a fixed kl_coef");
        assertEquals(0.2, p.cliprange());
        assertEquals(0.1, p.vfCoef());
        assertEquals(0.2, p.cliprangeValue());
        assertEquals(1.0, p.gamma());
        assertEquals(0.95, p.lam());
        assertEquals(false, p.whitenRewards());
        assertNull(p.missingEosPenalty());
        assertEquals(4, p.stepsPerRollout());
        assertEquals(1, p.evalCompletions());
        PpoSection set = load(PPO, "ppo.kl_target=6", "ppo.kl_coef=0.2", "ppo.kl_estimator=k3", "ppo.num_mini_batches=2",
                "output.save_every_steps=8").ppo();
        assertEquals(0.2, set.initialController().value());
        assertEquals(6, set.initialController().target());
        assertEquals(10000, set.initialController().horizon());
        assertEquals(KlEstimator.K3, set.estimator());
        assertEquals(8, set.stepsPerRollout());
    }

    @Test
    void badSettingsNameTheirKey() throws Exception {
        assertTrue(error(PPO, "ppo.num_ppo_epochs=0").contains("ppo.num_ppo_epochs must be >= 1"));
        assertTrue(error(PPO, "ppo.num_mini_batches=0").contains("ppo.num_mini_batches must be >= 1"));
        assertTrue(error(PPO, "ppo.response_length=0").contains("ppo.response_length must be >= 1"));
        assertTrue(error(PPO, "ppo.temperature=0").contains("ppo.temperature must be"));
        assertTrue(error(PPO, "ppo.kl_coef=-1").contains("ppo.kl_coef must be"));
        assertTrue(error(PPO, "ppo.kl_estimator=k2").contains("ppo.kl_estimator: unknown 'k2'"));
        assertTrue(error(PPO, "ppo.kl_target=0").contains("ppo.kl_target must be"));
        assertTrue(error(PPO, "ppo.kl_target=1", "ppo.kl_coef=0").contains("ppo.kl_target needs ppo.kl_coef > 0"));
        assertTrue(error(PPO, "ppo.cliprange=1").contains("ppo.cliprange must be within [0, 1)"));
        assertTrue(error(PPO, "ppo.vf_coef=-0.1").contains("ppo.vf_coef must be"));
        assertTrue(error(PPO, "ppo.gamma=1.5").contains("ppo.gamma must be within [0, 1]"));
        assertTrue(error(PPO, "ppo.lam=-0.5").contains("ppo.lam must be within [0, 1]"));
        assertTrue(error(PPO, "ppo.missing_eos_penalty=-1").contains("ppo.missing_eos_penalty must be"));
        assertTrue(error(PPO, "ppo.eval_completions=0").contains("ppo.eval_completions must be >= 1"));
        assertTrue(error(PPO, "ppo.stop_strings=['']").contains("ppo.stop_strings[0] must be"));
        assertTrue(error(PPO, "ppo.num_epochs=4").contains("unknown key 'ppo.num_epochs'"));
    }

    @Test
    void checkpointsFallBetweenRolloutBatchesAndSectionsBelongToTheirMethod() throws Exception {
        String m = error(PPO, "output.save_every_steps=6");
        assertTrue(m.contains("output.save_every_steps (6) must be a multiple of ppo.num_ppo_epochs × "
                + "ppo.num_mini_batches (4)"), m);
        assertEquals(8, load(PPO, "output.save_every_steps=8").output().saveEverySteps());
        m = error(PPO.replace("method: ppo", "method: grpo"), "ppo.kl_coef=0.1");
        assertTrue(m.contains("ppo: settings given but method is grpo"), m);
        m = error(PPO.replace("rewards:\n  - {type: contains, text: The}\n", ""));
        assertTrue(m.contains("rewards"), m);
        m = error(PPO, "adapter.type=none");
        assertTrue(m.contains("method: ppo needs adapter.type: lora"), m);
    }
}
