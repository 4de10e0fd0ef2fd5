package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.TargetModules;
import org.llamawb.datasets.batch.PairBatch;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.finetune.dpo.DpoObjective;
import org.llamawb.finetune.optim.AdamW;
import org.llamawb.finetune.train.TrainingStep;
import org.llamawb.model.Llama;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.RopeScaling;

/**
 * {@code bench train --method dpo} times the trainer's DPO step on pairs shaped as the TRL peer's: its loss is
 * the DPO loss of the batch (the no-gradient evaluation's, a separate route through the head), the update is
 * applied and lowers it, and the JSON counts tokens as the peer does.
 */
class BenchDpoTest {
    static final LlamaConfig SMALL = new LlamaConfig(128, 32, 64, 2, 4, 2, 8, 10000.0, RopeScaling.NONE, 1e-5, true, 1,
            List.of(2), false, false, 64);

    @Test
    void pairsShareTheirPromptAndTrainOnlyTheirAnswers() {
        PairBatch b = BenchCommand.randomPairs(SMALL, 3, 20, 0.6, 7);
        assertEquals(3, b.chosen().rows());
        assertEquals(20, b.chosen().length());
        for (int i = 0; i < 3; i++) {
            int[] c = b.chosen().inputIds()[i];
            int[] r = b.rejected().inputIds()[i];
            assertArrayEquals(Arrays.copyOf(c, 12), Arrays.copyOf(r, 12), "pair " + i + " shares its 12-token prompt");
            assertFalse(Arrays.equals(Arrays.copyOfRange(c, 12, 20), Arrays.copyOfRange(r, 12, 20)), "different answers");
            for (int j = 0; j < 20; j++) {
                assertEquals(j < 12 ? TokenizedExample.IGNORE : c[j], b.chosen().labels()[i][j]);
                assertEquals(j < 12 ? TokenizedExample.IGNORE : r[j], b.rejected().labels()[i][j]);
            }
        }
    }

    @Test
    void theTimedStepIsTheDpoLossOfTheBatchAndLowersIt() {
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.random(SMALL, 3, 0.1, m);
                LoraModel lora = new LoraModel(model)) {
            lora.add("default", LoraConfig.of(8, 16, new TargetModules.Names(List.of("q_proj", "k_proj", "v_proj",
                    "o_proj"))), 0);
            Map<String, NDArray> params = lora.trainableParameters("default");
            SplittableRandom r = new SplittableRandom(4);
            params.forEach((k, v) -> { // B ≠ 0: the policy differs from the reference, so the loss is not ln 2
                if (k.contains("lora_B")) {
                    float[] w = new float[(int) v.getShape().size()];
                    for (int i = 0; i < w.length; i++) {
                        w[i] = (float) (r.nextGaussian() * 0.2);
                    }
                    v.set(w);
                }
            });
            PairBatch batch = BenchCommand.randomPairs(SMALL, 3, 24, 0.5, 1);
            DpoObjective objective = new DpoObjective(model, lora, BenchCommand.DPO_LOSS);
            double before = objective.evaluate(batch).get("loss_sum") / 3;
            assertTrue(Math.abs(before - Math.log(2)) > 1e-3, "the adapter moves the loss off ln 2: " + before);
            TrainingStep.Outcome step;
            try (AdamW opt = new AdamW(params, new AdamW.Settings(0.9, 0.999, 1e-8, 0.0), AdamW::decaysByDefault, m)) {
                step = BenchCommand.dpoStep(batch, objective, params, opt, 1.0, 1);
            }
            assertEquals(before, step.loss(), 1e-5, "the step's loss is the batch's DPO loss");
            assertTrue(step.applied() && step.gradNorm() > 0, "the update is applied: " + step);
            assertEquals(2 * 3 * 24, step.tokens());
            assertEquals(2 * 3 * 12, step.trainedTokens());
            double after = objective.evaluate(batch).get("loss_sum") / 3;
            assertTrue(after < before, "one step on the batch lowers its loss: " + before + " -> " + after);
        }
    }

    @Test
    void theCommandCountsEveryRowOfThePolicyPass() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream saved = System.out;
        int rc;
        try {
            System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
            rc = new Workbench(List.of(new BenchCommand())).run(new String[] {"bench", "train", "--method", "dpo",
                "--dim", "32", "--layers", "2", "--heads", "4", "--hidden", "64", "--vocab", "128", "--batch", "2",
                "--seq", "16", "--prompt-fraction", "0.25", "--steps", "2", "--warmup", "1"},
                    new PrintStream(err, true, StandardCharsets.UTF_8));
        } finally {
            System.setOut(saved);
        }
        assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
        JsonNode j = new ObjectMapper().readTree(bytes.toString(StandardCharsets.UTF_8));
        assertEquals("dpo", j.get("method").asText());
        assertEquals(2 * 2 * 16, j.get("tokens_per_step").asLong(), "chosen and rejected rows, the reference not again");
        assertEquals(2 * 2 * 12, j.get("trained_tokens_per_step").asLong());
        assertEquals(2, j.get("step").get("n").asInt());
        double loss = j.get("last_loss").asDouble();
        assertTrue(Math.abs(loss - Math.log(2)) < 0.05, "a fresh adapter is near its reference: " + loss);
        assertTrue(j.get("peak_rss_mib").asDouble() >= j.get("rss_before_steps_mib").asDouble());
    }
}
