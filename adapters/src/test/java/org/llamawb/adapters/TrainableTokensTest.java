package org.llamawb.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Fixtures;
import org.llamawb.model.Kernels;
import org.llamawb.model.Llama;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.Safetensors;

/**
 * PEFT's trainable tokens ({@code trainable_token_indices}) beside LoRA, on a tied and an untied model: adapters
 * written by PEFT load here with PEFT's logits and gradients, merge as PEFT merges, and write back the same
 * files (fixtures by make_trainable_tokens_fixtures.py).
 */
class TrainableTokensTest {
    @TempDir
    Path tmp;

    private static Path dir(String c) {
        return Fixtures.path("peft/trainable-tokens/" + c);
    }

    private static float maxDiff(NDArray a, NDArray b) {
        return a.sub(b).abs().max().getFloat();
    }

    @ParameterizedTest
    @ValueSource(strings = {"tied", "untied"})
    void peftTrainableTokensGiveItsLogitsGradientsAndMerge(String c) throws Exception {
        JsonNode info = Fixtures.json(dir(c).resolve("case.json"));
        long[][] batch = Fixtures.longMatrix(info.get("input_ids"));
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(dir(c).resolve("base")), m);
                Safetensors expected = Safetensors.open(dir(c).resolve("outputs.safetensors"));
                Safetensors grads = Safetensors.open(dir(c).resolve("grads.safetensors"));
                LoraModel lora = new LoraModel(model)) {
            LoraConfig config = PeftAdapterFormat.read(lora, "default", dir(c).resolve("adapter"));
            assertEquals(info.get("tied").asBoolean() ? Map.of("embed_tokens", List.of(2, 5))
                    : Map.of("embed_tokens", List.of(2, 5), "lm_head", List.of(2)), config.trainableTokenIndices());
            NDArray ids = m.create(java.util.Arrays.stream(batch).flatMapToLong(java.util.Arrays::stream).toArray(),
                    new Shape(batch.length, batch[0].length));
            NDArray plain = model.forward(ids, null, null, false);
            // logits of order 10 here: 1e-5 relative, as PeftFixtureTest's 1e-4 on its logits
            assertTrue(maxDiff(plain, expected.load("logits", m)) <= 1e-4, c + ": logits differ by "
                    + maxDiff(plain, expected.load("logits", m)));
            NDArray base = lora.withAdaptersDisabled(() -> model.forward(ids, null, null, false));
            assertTrue(maxDiff(base, expected.load("base_logits", m)) <= 1e-4, c + ": disabled differs from the base");

            // the summed next-token loss: its value and every trainable tensor's gradient, as PyTorch computes them
            Map<String, NDArray> params = lora.trainableParameters("default");
            assertEquals(grads.names().size(), params.size(), "the trainable tensors are PEFT's");
            long[] shifted = new long[batch.length * batch[0].length];
            for (int i = 0; i < batch.length; i++) {
                for (int j = 0; j < batch[0].length; j++) {
                    shifted[i * batch[0].length + j] = j + 1 < batch[0].length ? batch[i][j + 1] : -100;
                }
            }
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray logits = model.forward(ids, null, null, true);
                NDArray loss = Kernels.get().crossEntropySum(logits.reshape(-1, logits.getShape().get(2)),
                        m.create(shifted), true);
                assertEquals(info.get("loss_sum").asDouble(), loss.getFloat(), 1e-4);
                gc.backward(loss);
            }
            for (String name : grads.names()) {
                NDArray g = params.get(name).getGradient();
                NDArray want = grads.load(name, m);
                float d = maxDiff(g, want) / Math.max(1f, want.abs().max().getFloat());
                assertTrue(d <= 1e-5, c + ": gradient of " + name + " differs by " + d);
                g.close();
            }
            params.values().forEach(p -> p.setRequiresGradient(false));

            // merge writes the trained rows (PEFT's index_copy: exactly), unmerge restores the base bit for bit
            float[] embedBefore = model.embedTokens().toFloatArray();
            lora.merge("default");
            for (String name : List.of("model.embed_tokens.weight", "lm_head.weight")) {
                if (expected.names().contains(name)) {
                    assertEquals(0f, maxDiff(model.parameters().get(name), expected.load(name, m)), "merged " + name);
                }
            }
            float merged = maxDiff(model.forward(ids, null, null, false), expected.load("merged_logits", m));
            assertTrue(merged <= 1e-4, c + ": merged logits differ by " + merged);
            lora.unmerge("default");
            assertEquals(0f, maxDiff(model.embedTokens(), m.create(embedBefore, model.embedTokens().getShape())));

            // written back: the same config and tensors, read again to the same logits
            Path out = tmp.resolve(c);
            PeftAdapterFormat.write(lora, "default", out, "base");
            assertEquals(config, PeftAdapterFormat.readConfig(out));
            try (Safetensors ours = Safetensors.open(out.resolve(PeftAdapterFormat.WEIGHTS_FILE));
                    Safetensors theirs = Safetensors.open(dir(c).resolve("adapter").resolve(PeftAdapterFormat.WEIGHTS_FILE))) {
                assertEquals(theirs.names(), ours.names());
                for (String name : theirs.names()) {
                    assertEquals(0f, maxDiff(ours.load(name, m), theirs.load(name, m)), name);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lm_head", "embed_tokens"})
    void refusalsNameTheKey(String module) throws Exception {
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(dir("tied").resolve("base")), m);
                LoraModel lora = new LoraModel(model)) {
            LoraConfig base = LoraConfig.of(4, 8, TargetModules.parse(List.of("q_proj")));
            BadInputException e = assertThrows(BadInputException.class,
                    () -> lora.add("x", base.withTrainableTokens(Map.of(module, List.of(module.equals("lm_head") ? 2 : 128))), 1));
            assertTrue(e.getMessage().startsWith("adapter.trainable_tokens: "), e.getMessage());
            assertTrue(e.getMessage().contains(module.equals("lm_head") ? "tied" : "outside the vocabulary"), e.getMessage());
        }
    }
}
