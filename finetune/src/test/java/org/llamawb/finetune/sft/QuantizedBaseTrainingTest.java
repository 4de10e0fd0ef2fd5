package org.llamawb.finetune.sft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Locale;
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
import org.llamawb.model.quant.QuantizedWeight;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.Safetensors;

/**
 * The training step on an NF4 and an int8 base under every rematerialisation policy (the hybrid ones dequantise
 * each projection again in their hand-written backward): PEFT's loss and LoRA gradients on bitsandbytes'
 * dequantised base within 1e-5 (fixture {@code peft/qlora} by scripts/reference/make_qlora_fixtures.py).
 */
class QuantizedBaseTrainingTest {

    @ParameterizedTest
    @EnumSource(QuantizedWeight.Kind.class)
    void everyPolicyGivesPeftsLossAndGradientsOnTheDequantisedBase(QuantizedWeight.Kind kind) {
        Path dir = Fixtures.path("peft/qlora/" + kind.name().toLowerCase(Locale.ROOT));
        JsonNode batch = Fixtures.json(Fixtures.path("peft/batch.json"));
        double want = Fixtures.json(dir.resolve("results.json")).get("loss").asDouble();
        Batch b = Batch.ofRows(Fixtures.intMatrix(batch.get("input_ids")), Fixtures.intMatrix(batch.get("labels")));
        for (Rematerialization policy : Rematerialization.values()) {
            try (NDManager m = NDManager.newBaseManager();
                    Llama model = Llama.load(Checkpoint.open(Fixtures.path("peft/base")), m);
                    LoraModel lora = new LoraModel(model);
                    Safetensors grads = Safetensors.open(dir.resolve("grads.safetensors"))) {
                model.quantize(kind);
                PeftAdapterFormat.read(lora, "default", Fixtures.path("peft/lora"));
                Map<String, NDArray> params = lora.trainableParameters("default");
                double loss;
                try (NDScope scope = new NDScope()) {
                    loss = ForwardBackward.run(model, b, 1.0 / b.trainedTokens(), policy, 0, m) / b.trainedTokens();
                }
                assertEquals(want, loss, 1e-5, kind + " " + policy + " loss");
                for (Map.Entry<String, NDArray> e : params.entrySet()) {
                    try (NDArray g = e.getValue().getGradient()) {
                        float d = g.sub(grads.load(e.getKey(), m)).abs().max().getFloat();
                        assertTrue(d <= 1e-5, kind + " " + policy + " gradient of " + e.getKey() + " differs by " + d);
                    }
                }
            }
        }
    }
}
