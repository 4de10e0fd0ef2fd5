package org.llamawb.finetune.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.TargetModules;
import org.llamawb.finetune.online.Rollouts;
import org.llamawb.finetune.recipe.PpoSection;
import org.llamawb.finetune.rl.PpoLoss;
import org.llamawb.finetune.remat.Rematerialization;
import org.llamawb.finetune.train.MetricMeans;
import org.llamawb.model.Llama;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.RopeScaling;

/**
 * The PPO objective sends only the columns from the first response token on through the LM head; its loss, its
 * metrics and every gradient (policy adapter, critic adapter, value head) equal those of the policy's
 * log-probabilities over whole rows, with rows whose prompts differ in length.
 */
class PpoObjectiveTest {

    @Test
    void theHeadOnResponseColumnsGivesTheFullRowsLossMetricsAndGradients() {
        LlamaConfig c = new LlamaConfig(41, 32, 48, 2, 4, 2, 8, 10000.0, RopeScaling.NONE, 1e-5, false, 1,
                List.of(2), true, true, 64);
        try (NDManager m = NDManager.newBaseManager(); Llama model = Llama.random(c, 13, 0.3, m);
                LoraModel lora = new LoraModel(model)) {
            LoraConfig config = LoraConfig.of(4, 8, new TargetModules.Names(List.of("q_proj", "v_proj")));
            Critic critic = Critic.create(lora, config, "default", 5);
            lora.add("default", config, 3);
            lora.activate("default");
            Map<String, NDArray> params = new LinkedHashMap<>(lora.trainableParameters("default"));
            params.putAll(critic.parameters());
            SplittableRandom r = new SplittableRandom(8);
            params.forEach((k, v) -> { // B ≠ 0: the adapters change the model
                v.setRequiresGradient(true);
                if (k.contains("lora_B")) {
                    float[] w = new float[(int) v.getShape().size()];
                    for (int i = 0; i < w.length; i++) {
                        w[i] = (float) (r.nextGaussian() * 0.3);
                    }
                    v.set(w);
                }
            });
            PpoBatch b = batch(r);
            assertTrue(Rollouts.firstMaskedColumn(b.responseMask(), b.rows(), b.width()) > 1, "rows start with prompts");
            PpoSection ppo = new PpoSection(null, null, null, 0.9, null, null, null, null, null, null, null, null, null,
                    null, null, null, null, null, null);

            MetricMeans metrics = new MetricMeans();
            Map<String, float[]> restricted = new LinkedHashMap<>();
            params.values().forEach(p -> JniUtils.zeroGrad((PtNDArray) p));
            double loss;
            try (NDScope scope = new NDScope()) {
                loss = new PpoObjective(model, critic, ppo, metrics, Rematerialization.NONE).lossAndBackward(b, 1.0 / b.rows(), 0) / b.rows();
            }
            params.forEach((k, v) -> {
                try (NDArray g = v.getGradient()) {
                    restricted.put(k, g.toFloatArray());
                }
            });
            Map<String, Double> got = metrics.take();

            params.values().forEach(p -> JniUtils.zeroGrad((PtNDArray) p));
            Shape shape = new Shape(b.rows(), b.width());
            double full;
            PpoLoss.Policy p;
            try (NDScope scope = new NDScope(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray logprobs = Rollouts.tokenLogprobs(model, b.ids(), 0.9, true, m); // [N, T], every column
                NDArray values = critic.values(b.ids(), true);
                p = PpoLoss.policy(logprobs, m.create(b.oldLogprobs(), shape), m.create(b.advantages(), shape),
                        m.create(b.responseMask(), shape), ppo.cliprange());
                PpoLoss.Value v = PpoLoss.value(values, m.create(b.oldValues(), shape), m.create(b.returns(), shape),
                        m.create(b.valueMask(), shape), ppo.cliprangeValue());
                NDArray l = p.loss().add(v.loss().mul(m.full(new Shape(), ppo.vfCoef().floatValue(), DataType.FLOAT32)));
                gc.backward(l);
                full = l.getFloat();
            }
            assertEquals(full, loss, 1e-6, "loss");
            assertEquals(p.approxKl(), got.get("policy/approxkl_avg"), close(p.approxKl()) / 10, "policy/approxkl_avg");
            assertEquals(p.ratioMean(), got.get("val/ratio"), close(p.ratioMean()) / 10, "val/ratio");
            assertEquals(p.clipFraction(), got.get("policy/clipfrac_avg"), close(p.clipFraction()) / 10, "policy/clipfrac_avg");
            assertTrue(p.clipFraction() > 0, "some ratios clip");
            double largest = 0;
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                try (NDArray g = e.getValue().getGradient()) {
                    float[] expected = g.toFloatArray();
                    float[] actual = restricted.get(e.getKey());
                    double scale = 0;
                    for (float x : expected) {
                        scale = Math.max(scale, Math.abs(x));
                    }
                    for (int i = 0; i < expected.length; i++) {
                        assertEquals(expected[i], actual[i], close(scale), e.getKey() + "[" + i + "]");
                        largest = Math.max(largest, Math.abs(expected[i]));
                    }
                }
            }
            assertTrue(largest > 1e-3, "the loss has gradients");
        }
    }

    /**
     * Float rounding between two ways of summing the same terms: the objective reads each token's log-probability and
     * writes its gradient with fused log-sum-exp kernels (no log-softmax), so a value differs by a few parts in a
     * million of {@code scale} (the value itself, or a gradient tensor's largest element).
     */
    private static double close(double scale) {
        return 1e-6 + 2e-6 * Math.abs(scale);
    }

    /** Three rows: prompts of 3, 5 and 4 tokens, responses of 4, 2 and 3, right-padded; targets in row layout. */
    private static PpoBatch batch(SplittableRandom r) {
        int[] prompts = {3, 5, 4};
        int[] responses = {4, 2, 3};
        int width = 8;
        int n = prompts.length;
        int[][] ids = new int[n][width];
        float[] responseMask = new float[n * width];
        float[] valueMask = new float[n * width];
        float[] old = new float[n * width];
        float[] oldValues = new float[n * width];
        float[] advantages = new float[n * width];
        float[] returns = new float[n * width];
        long tokens = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < width; j++) {
                ids[i][j] = j < prompts[i] + responses[i] ? r.nextInt(3, 41) : 2;
            }
            for (int k = 0; k <= responses[i]; k++) { // the response's positions and the one after it
                int at = i * width + prompts[i] - 1 + k;
                if (k < responses[i]) {
                    responseMask[at] = 1;
                    old[at] = (float) (-3.7 + r.nextDouble(-0.8, 0.8));
                    advantages[at] = (float) r.nextDouble(-1, 1);
                }
                valueMask[at] = 1;
                oldValues[at] = (float) r.nextDouble(-0.5, 0.5);
                returns[at] = (float) r.nextDouble(-1, 1);
            }
            tokens += responses[i];
        }
        return new PpoBatch(ids, responseMask, valueMask, old, oldValues, advantages, returns, tokens);
    }
}
