package org.llamawb.finetune.ppo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.llamawb.adapters.LoraConfig;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.TargetModules;
import org.llamawb.finetune.recipe.PpoSection;
import org.llamawb.finetune.remat.PolicyAgreement;
import org.llamawb.finetune.remat.Rematerialization;
import org.llamawb.finetune.train.MetricMeans;
import org.llamawb.model.Llama;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.RopeScaling;

/**
 * PPO's update (a policy pass and a critic pass) trains under every rematerialisation policy: the loss and every
 * gradient of the policy adapter, the critic adapter and the value head under {@code full}, {@code hybrid} and
 * {@code hybrid-lean} equal those under {@code none} (loss within 5e-6 relative, gradients within 5e-6 of the
 * largest; not bitwise, see MethodRematerializationTest).
 */
class PpoRematerializationTest {

    @Test
    void everyPolicyGivesTheLossAndGradientsOfNone() {
        LlamaConfig c = new LlamaConfig(41, 32, 48, 2, 4, 2, 8, 10000.0, RopeScaling.NONE, 1e-5, false, 1,
                List.of(2), true, true, 64);
        try (NDManager manager = NDManager.newBaseManager();
                Llama model = Llama.random(c, 13, 0.3, manager);
                LoraModel lora = new LoraModel(model)) {
            LoraConfig config = LoraConfig.of(4, 8, new TargetModules.AllLinear());
            Critic critic = Critic.create(lora, config, "default", 5);
            lora.add("default", config, 1);
            lora.activate("default");
            SplittableRandom r = new SplittableRandom(2);
            Map<String, NDArray> params = new LinkedHashMap<>(lora.trainableParameters("default"));
            params.putAll(critic.parameters());
            params.forEach((k, v) -> {
                v.setRequiresGradient(true);
                if (k.contains("lora_B")) {
                    float[] x = new float[(int) v.size()];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) (r.nextDouble() - 0.5) * 0.2f;
                    }
                    v.set(x);
                }
            });
            PpoBatch batch = batch(new SplittableRandom(7));
            PpoSection ppo = new PpoSection(null, null, null, null, null, null, null, null, null, null, null, null, null, null,
                    null, null, null, null, null); // the defaults
            Map<Rematerialization, Double> losses = new LinkedHashMap<>();
            Map<Rematerialization, Map<String, float[]>> grads = new LinkedHashMap<>();
            for (Rematerialization policy : Rematerialization.values()) {
                PpoObjective objective = new PpoObjective(model, critic, ppo, new MetricMeans(), policy);
                params.values().forEach(p -> JniUtils.zeroGrad((PtNDArray) p));
                try (NDScope scope = new NDScope()) {
                    losses.put(policy, objective.lossAndBackward(batch, 1.0 / batch.rows(), 3));
                }
                assertTrue(lora.isActive("default") && !lora.isActive(Critic.ADAPTER), "the policy is active again");
                Map<String, float[]> g = new LinkedHashMap<>();
                params.forEach((k, v) -> {
                    try (NDArray x = v.getGradient()) {
                        g.put(k, x.toFloatArray());
                    }
                });
                grads.put(policy, g);
            }
            Map<String, float[]> none = grads.get(Rematerialization.NONE);
            for (String side : List.of("critic/", "base_model")) {
                assertTrue(none.entrySet().stream().anyMatch(e -> e.getKey().startsWith(side)
                        && java.util.Arrays.stream(box(e.getValue())).anyMatch(v -> v != 0)), side + " gets gradients");
            }
            PolicyAgreement.assertAgree("ppo", losses, grads);
            params.values().forEach(p -> p.setRequiresGradient(false));
        }
    }

    static double[] box(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    /** Three rows of a prompt and a completion, right-padded, with rollout-time log-probs, values and targets. */
    static PpoBatch batch(SplittableRandom r) {
        int n = 3;
        int t = 12;
        int[][] ids = new int[n][t];
        float[] response = new float[n * t];
        float[] valueMask = new float[n * t];
        float[] old = new float[n * t];
        float[] oldValues = new float[n * t];
        float[] adv = new float[n * t];
        float[] returns = new float[n * t];
        long tokens = 0;
        for (int i = 0; i < n; i++) {
            int prompt = 3 + i;
            int completion = 2 + 2 * i;
            for (int j = 0; j < t; j++) {
                ids[i][j] = j < prompt + completion ? 3 + r.nextInt(38) : 2;
            }
            for (int k = 0; k < completion; k++) {
                int at = i * t + prompt - 1 + k;
                response[at] = 1;
                valueMask[at] = 1;
                old[at] = (float) (-3.7 + r.nextDouble(-0.6, 0.6)); // about log(1/41), off enough to clip some ratios
                oldValues[at] = (float) r.nextDouble(-0.5, 0.5);
                adv[at] = (float) r.nextDouble(-1.5, 1.5);
                returns[at] = (float) r.nextDouble(-1, 1);
            }
            valueMask[i * t + prompt - 1 + completion] = 1;
            tokens += completion;
        }
        return new PpoBatch(ids, response, valueMask, old, oldValues, adv, returns, tokens);
    }
}
