package org.llamawb.finetune.online;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.TargetModules;
import org.llamawb.model.Llama;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.RopeScaling;

/**
 * The no-gradient log-probabilities of a rollout, computed a few rows at a time, equal one pass over every row (to
 * float rounding: the matrix products block differently), for
 * the policy and the reference; the head on columns {@code from..} equals those columns of the whole rows.
 */
class RolloutsTest {

    @Test
    void chunkedPassesAndKeptColumnsEqualTheWholeRows() {
        LlamaConfig c = new LlamaConfig(41, 32, 48, 2, 4, 2, 8, 10000.0, RopeScaling.NONE, 1e-5, false, 1,
                List.of(2), true, true, 64);
        long saved = Rollouts.tokensPerChunk;
        try (NDManager m = NDManager.newBaseManager(); Llama model = Llama.random(c, 13, 0.3, m);
                LoraModel lora = new LoraModel(model)) {
            lora.add("default", LoraConfig.of(4, 8, new TargetModules.Names(List.of("q_proj", "v_proj"))), 3);
            lora.activate("default");
            SplittableRandom r = new SplittableRandom(2);
            lora.trainableParameters("default").forEach((k, v) -> { // B ≠ 0: the reference differs from the policy
                float[] w = new float[(int) v.getShape().size()];
                for (int i = 0; i < w.length; i++) {
                    w[i] = (float) (r.nextGaussian() * 0.3);
                }
                v.set(w);
            });
            int[][] ids = new int[7][9];
            for (int[] row : ids) {
                for (int j = 0; j < row.length; j++) {
                    row[j] = r.nextInt(41);
                }
            }
            float[][] byMode = new float[2][];
            for (int mode = 0; mode < 2; mode++) {
                boolean reference = mode == 1;
                Rollouts.tokensPerChunk = 1 << 20;
                float[] whole = Rollouts.logprobs(model, lora, ids, 0.8, reference);
                Rollouts.tokensPerChunk = 18; // 2 rows of 9 per chunk: chunks of 2, 2, 2 and 1 rows
                float[] chunked = Rollouts.logprobs(model, lora, ids, 0.8, reference);
                for (int i = 0; i < whole.length; i++) {
                    assertEquals(whole[i], chunked[i], 1e-5, (reference ? "reference" : "policy") + " [" + i + "]");
                }
                byMode[mode] = whole;
            }
            double apart = 0;
            for (int i = 0; i < byMode[0].length; i++) {
                apart = Math.max(apart, Math.abs(byMode[0][i] - byMode[1][i]));
            }
            assertEquals(true, apart > 1e-3, "the reference (adapter off) differs from the policy: " + apart);
            try (NDScope scope = new NDScope()) {
                float[] kept = Rollouts.tokenLogprobs(model, ids, 4, 0.8, false, m).toFloatArray(); // [7, 5]
                for (int i = 0; i < 7; i++) {
                    for (int j = 4; j < 9; j++) {
                        assertEquals(byMode[0][i * 9 + j], kept[i * 5 + j - 4], 1e-6, "[" + i + ", " + j + "]");
                    }
                }
            }
        } finally {
            Rollouts.tokensPerChunk = saved;
        }
    }
}
