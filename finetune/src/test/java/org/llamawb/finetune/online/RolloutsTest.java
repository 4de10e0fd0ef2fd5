package org.llamawb.finetune.online;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.TargetModules;
import org.llamawb.datasets.example.Origin;
import org.llamawb.datasets.tokenize.TokenizedPrompt;
import org.llamawb.model.Llama;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.RopeScaling;
import org.llamawb.model.generate.BatchedGenerator;
import org.llamawb.model.generate.Sampling;

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

    /**
     * The log-probabilities the sampler reports while generating (what PPO takes as the rollout policy's) equal the
     * pass without gradients over the finished rows, at every completion position: prompts of different lengths
     * (left-padded while sampling, right-padded in the rows), the policy adapter on, a temperature.
     */
    @Test
    void sampledLogprobsEqualThePassOverTheRows() {
        LlamaConfig c = new LlamaConfig(41, 32, 48, 2, 4, 2, 8, 10000.0, RopeScaling.NONE, 1e-5, false, 1,
                List.of(2), true, true, 64);
        try (NDManager m = NDManager.newBaseManager(); Llama model = Llama.random(c, 13, 0.3, m);
                LoraModel lora = new LoraModel(model)) {
            lora.add("default", LoraConfig.of(4, 8, new TargetModules.Names(List.of("q_proj", "v_proj"))), 3);
            lora.activate("default");
            SplittableRandom r = new SplittableRandom(6);
            lora.trainableParameters("default").forEach((k, v) -> {
                float[] w = new float[(int) v.getShape().size()];
                for (int i = 0; i < w.length; i++) {
                    w[i] = (float) (r.nextGaussian() * 0.3);
                }
                v.set(w);
            });
            List<TokenizedPrompt> prompts = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                prompts.add(new TokenizedPrompt("p" + i, new Origin("test", i + 1), r.ints(2 + i, 3, 41).toArray()));
            }
            Sampling s = new Sampling(0.8, 0, 1.0, 21, 7, Set.of(2));
            List<BatchedGenerator.Completion> done = new BatchedGenerator(model).generate(
                    prompts.stream().map(TokenizedPrompt::ids).toList(), s, 0, List.of(), null);
            Rollouts.Rows rows = Rollouts.rows(prompts, done, 0);
            float[] pass = Rollouts.logprobs(model, lora, rows.ids(), 0.8, false);
            int w = rows.width();
            int compared = 0;
            for (int i = 0; i < prompts.size(); i++) {
                float[] sampled = done.get(i).logprobs();
                assertEquals(done.get(i).tokens().length, sampled.length, "one per token, row " + i);
                for (int k = 0; k < sampled.length; k++) {
                    int at = i * w + prompts.get(i).ids().length - 1 + k; // the position predicting token k
                    assertEquals(pass[at], sampled[k], 2e-5, "row " + i + ", token " + k);
                    compared++;
                }
            }
            assertTrue(compared > 20, "completions long enough to compare: " + compared);
        }
    }
}
