package org.llamawb.finetune.grpo;

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
import org.llamawb.finetune.remat.PolicyAgreement;
import org.llamawb.finetune.remat.Rematerialization;
import org.llamawb.finetune.train.MetricMeans;
import org.llamawb.finetune.rl.GrpoLoss;
import org.llamawb.finetune.rl.LossAggregation;
import org.llamawb.model.Llama;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.RopeScaling;

/**
 * GRPO's update pass trains under every rematerialisation policy: the loss and every LoRA gradient under
 * {@code full}, {@code hybrid} and {@code hybrid-lean} equal those under {@code none} (loss within 5e-6 relative,
 * gradients within 5e-6 of the largest; not bitwise, see MethodRematerializationTest).
 */
class GrpoRematerializationTest {

    @Test
    void everyPolicyGivesTheLossAndGradientsOfNone() {
        LlamaConfig c = new LlamaConfig(41, 32, 48, 2, 4, 2, 8, 10000.0, RopeScaling.NONE, 1e-5, false, 1,
                List.of(2), true, true, 64);
        try (NDManager manager = NDManager.newBaseManager();
                Llama model = Llama.random(c, 13, 0.3, manager);
                LoraModel lora = new LoraModel(model)) {
            lora.add("default", LoraConfig.of(4, 8, new TargetModules.AllLinear()), 1);
            SplittableRandom r = new SplittableRandom(2);
            lora.parameters("default").forEach((k, v) -> {
                if (k.contains("lora_B")) {
                    float[] x = new float[(int) v.size()];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) (r.nextDouble() - 0.5) * 0.2f;
                    }
                    v.set(x);
                }
            });
            Map<String, NDArray> params = lora.trainableParameters("default");
            List<GrpoObjectiveTest.Row> rows = GrpoObjectiveTest.rows();
            long tokens = rows.stream().mapToLong(x -> x.completion().length).sum();
            GrpoBatch batch = GrpoObjectiveTest.batch(rows, tokens);
            Map<Rematerialization, Double> losses = new LinkedHashMap<>();
            Map<Rematerialization, Map<String, float[]>> grads = new LinkedHashMap<>();
            for (Rematerialization policy : Rematerialization.values()) {
                GrpoObjective objective = new GrpoObjective(model,
                        new GrpoLoss.Settings(0.2, 0.28, 0.1, LossAggregation.DAPO, 8), 0.9, new MetricMeans(), policy);
                params.values().forEach(p -> JniUtils.zeroGrad((PtNDArray) p));
                try (NDScope scope = new NDScope()) {
                    losses.put(policy, objective.lossAndBackward(batch, 1.0 / batch.rows(), 3));
                }
                Map<String, float[]> g = new LinkedHashMap<>();
                params.forEach((k, v) -> {
                    try (NDArray x = v.getGradient()) {
                        g.put(k, x.toFloatArray());
                    }
                });
                grads.put(policy, g);
            }
            PolicyAgreement.assertAgree("grpo", losses, grads);
            params.values().forEach(p -> p.setRequiresGradient(false));
        }
    }
}
