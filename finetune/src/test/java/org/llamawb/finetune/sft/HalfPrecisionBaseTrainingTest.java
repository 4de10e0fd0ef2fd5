package org.llamawb.finetune.sft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.datasets.batch.Batch;
import org.llamawb.finetune.remat.ForwardBackward;
import org.llamawb.finetune.remat.Rematerialization;
import org.llamawb.model.Fixtures;
import org.llamawb.model.Llama;
import org.llamawb.model.quant.FrozenStorage;
import org.llamawb.model.quant.HalfWeight;
import org.llamawb.model.quant.QuantizedWeight;
import org.llamawb.model.weights.Checkpoint;

/**
 * The training step on a bfloat16 / float16 base ({@code model.dtype}), and on NF4 projections over a bfloat16 rest
 * (QLoRA's usual setting), under every rematerialisation policy: the same loss and LoRA gradients, within 1e-6, as a float32 model
 * holding the widened values (the product runs in float32 either way, so only the storage differs).
 */
class HalfPrecisionBaseTrainingTest {

    @ParameterizedTest
    @EnumSource(HalfWeight.Format.class)
    void everyPolicyGivesTheLossAndGradientsOfTheWidenedFloat32Base(HalfWeight.Format format) {
        JsonNode batch = Fixtures.json(Fixtures.path("peft/batch.json"));
        Batch b = Batch.ofRows(Fixtures.intMatrix(batch.get("input_ids")), Fixtures.intMatrix(batch.get("labels")));
        // QLoRA's setting (NF4 projections, the rest in bfloat16) besides the half-precision base alone
        FrozenStorage[] storages = format == HalfWeight.Format.BF16
                ? new FrozenStorage[] {new FrozenStorage(format, null), new FrozenStorage(format, QuantizedWeight.Kind.NF4)}
                : new FrozenStorage[] {new FrozenStorage(format, null)};
        for (FrozenStorage storage : storages) {
            for (Rematerialization policy : Rematerialization.values()) {
                try (NDManager m = NDManager.newBaseManager();
                        Llama compact = Llama.load(Checkpoint.open(Fixtures.path("peft/base")), m, storage);
                        Llama widened = Llama.load(Checkpoint.open(Fixtures.path("peft/base")), m)) {
                    assertNotNull(compact.lmHead().frozen(), "the LM head is kept in " + format);
                    compact.parameters().forEach(widened::replace); // float32 arrays of the very values stored
                    String what = storage.describe() + " " + policy;
                    Step got = step(compact, b, policy, m);
                    Step want = step(widened, b, policy, m);
                    assertEquals(want.loss, got.loss, 1e-6, what + " loss");
                    for (Map.Entry<String, float[]> e : want.grads.entrySet()) {
                        float[] g = got.grads.get(e.getKey());
                        float d = 0;
                        for (int i = 0; i < g.length; i++) {
                            d = Math.max(d, Math.abs(g[i] - e.getValue()[i]));
                        }
                        assertTrue(d <= 1e-6, what + " gradient of " + e.getKey() + " differs by " + d);
                    }
                }
            }
        }
    }

    private record Step(double loss, Map<String, float[]> grads) {}

    /** One forward and backward pass with the fixture's LoRA; its gradients, read out before the adapter goes. */
    private static Step step(Llama model, Batch b, Rematerialization policy, NDManager m) {
        try (LoraModel lora = new LoraModel(model)) {
            PeftAdapterFormat.read(lora, "default", Fixtures.path("peft/lora"));
            Map<String, NDArray> params = lora.trainableParameters("default"); // marks them as requiring gradients
            double loss;
            try (NDScope scope = new NDScope()) {
                loss = ForwardBackward.run(model, b, 1.0 / b.trainedTokens(), policy, 0, m) / b.trainedTokens();
            }
            Map<String, float[]> grads = new java.util.TreeMap<>();
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                try (NDArray g = e.getValue().getGradient()) {
                    grads.put(e.getKey(), g.toFloatArray());
                }
            }
            return new Step(loss, grads);
        }
    }
}
