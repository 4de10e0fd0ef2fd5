package org.llamawb.finetune.sft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.datasets.batch.Batch;
import org.llamawb.finetune.optim.AdamW;
import org.llamawb.finetune.remat.ForwardBackward;
import org.llamawb.finetune.remat.Rematerialization;
import org.llamawb.model.Fixtures;
import org.llamawb.model.Llama;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.Safetensors;

/**
 * Loss, every LoRA gradient and the adapter after 3 AdamW steps equal PEFT + torch.optim.AdamW
 * (fixtures by scripts/reference/make_peft_fixtures.py), under every rematerialisation policy.
 */
class PeftGradientParityTest {

    @ParameterizedTest
    @ValueSource(strings = {"lora", "rslora", "patterns"})
    void lossGradientsAndThreeAdamWStepsMatchPeft(String c) {
        Path dir = Fixtures.path("peft/" + c);
        JsonNode batch = Fixtures.json(Fixtures.path("peft/batch.json"));
        JsonNode results = Fixtures.json(dir.resolve("results.json"));
        Batch b = Batch.ofRows(Fixtures.intMatrix(batch.get("input_ids")), Fixtures.intMatrix(batch.get("labels")));
        assertEquals(results.get("num_target_tokens").asLong(), b.trainedTokens());
        for (Rematerialization policy : Rematerialization.values()) {
            try (NDManager m = NDManager.newBaseManager();
                    Llama model = Llama.load(Checkpoint.open(Fixtures.path("peft/base")), m);
                    LoraModel lora = new LoraModel(model);
                    Safetensors grads = Safetensors.open(dir.resolve("grads.safetensors"));
                    Safetensors step3 = Safetensors.open(dir.resolve("adapter_step3/adapter_model.safetensors"))) {
                PeftAdapterFormat.read(lora, "default", dir);
                Map<String, NDArray> params = lora.trainableParameters("default");
                JsonNode opt = results.get("optimizer");
                try (AdamW adamw = new AdamW(params, new AdamW.Settings(opt.get("betas").get(0).asDouble(),
                        opt.get("betas").get(1).asDouble(), opt.get("eps").asDouble(), opt.get("weight_decay").asDouble()),
                        name -> true, m)) {
                    for (int step = 0; step < 3; step++) {
                        adamw.zeroGradients();
                        double loss;
                        try (NDScope scope = new NDScope()) {
                            loss = ForwardBackward.run(model, b, 1.0 / b.trainedTokens(), policy, 0, m) / b.trainedTokens();
                        }
                        assertEquals(results.get("losses").get(step).asDouble(), loss, 1e-5, policy + " loss at step " + step);
                        if (step == 0) {
                            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                                try (NDArray g = e.getValue().getGradient()) {
                                    float d = g.sub(grads.load(e.getKey(), m)).abs().max().getFloat();
                                    assertTrue(d <= 1e-5, policy + " gradient of " + e.getKey() + " differs by " + d);
                                }
                            }
                        }
                        adamw.step(opt.get("lr").asDouble());
                    }
                }
                for (Map.Entry<String, NDArray> e : params.entrySet()) {
                    float d = e.getValue().sub(step3.load(e.getKey(), m)).abs().max().getFloat();
                    assertTrue(d <= 1e-5, policy + " " + e.getKey() + " after 3 steps differs by " + d);
                }
            }
        }
    }
}
