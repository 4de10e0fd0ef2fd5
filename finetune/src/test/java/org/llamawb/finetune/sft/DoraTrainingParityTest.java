package org.llamawb.finetune.sft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.llamawb.adapters.LoraModel;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.datasets.batch.Batch;
import org.llamawb.finetune.optim.AdamW;
import org.llamawb.finetune.remat.ForwardBackward;
import org.llamawb.finetune.remat.Rematerialization;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Fixtures;
import org.llamawb.model.Llama;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.Safetensors;

/**
 * Training a DoRA adapter (PEFT's {@code use_dora}) through the training step: the loss, every gradient (A, B and
 * the magnitude) and the adapter after 3 AdamW steps equal PEFT + torch.optim.AdamW (fixture {@code peft/dora} by
 * scripts/reference/make_peft_fixtures.py); the hybrid policies, whose backward is written for plain LoRA, refuse.
 */
class DoraTrainingParityTest {

    @ParameterizedTest
    @EnumSource(Rematerialization.class)
    void lossGradientsAndThreeAdamWStepsMatchPeft(Rematerialization policy) {
        Path dir = Fixtures.path("peft/dora");
        JsonNode batch = Fixtures.json(Fixtures.path("peft/batch.json"));
        JsonNode results = Fixtures.json(dir.resolve("results.json"));
        Batch b = Batch.ofRows(Fixtures.intMatrix(batch.get("input_ids")), Fixtures.intMatrix(batch.get("labels")));
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(Fixtures.path("peft/base")), m);
                LoraModel lora = new LoraModel(model);
                Safetensors grads = Safetensors.open(dir.resolve("grads.safetensors"));
                Safetensors step3 = Safetensors.open(dir.resolve("adapter_step3/adapter_model.safetensors"))) {
            PeftAdapterFormat.read(lora, "default", dir);
            Map<String, NDArray> params = lora.trainableParameters("default");
            assertEquals(step3.names().size(), params.size());
            if (policy == Rematerialization.HYBRID || policy == Rematerialization.HYBRID_LEAN) {
                BadInputException e = assertThrows(BadInputException.class, () -> {
                    try (NDScope scope = new NDScope()) {
                        ForwardBackward.run(model, b, 1.0 / b.trainedTokens(), policy, 0, m);
                    }
                });
                assertTrue(e.getMessage().startsWith("train.rematerialization: " + policy.recipeName())
                        && e.getMessage().contains("adapter.use_dora"), e.getMessage());
                return;
            }
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
