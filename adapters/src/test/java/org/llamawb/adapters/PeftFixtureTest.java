package org.llamawb.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Fixtures;
import org.llamawb.model.Llama;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.Safetensors;

/** Adapters saved by Python PEFT load here and reproduce PEFT's numbers (fixtures by make_peft_fixtures.py). */
class PeftFixtureTest {
    @TempDir
    Path tmp;

    static Path dir(String c) {
        return Fixtures.path("peft/" + c);
    }

    /** Max |a - b| over the positions whose attention mask is 1. */
    static float maskedMaxDiff(NDArray a, NDArray b, int[][] mask) {
        float[] x = a.toFloatArray();
        float[] y = b.toFloatArray();
        int t = mask[0].length;
        int v = (int) (x.length / (mask.length * t));
        float worst = 0;
        for (int i = 0; i < mask.length; i++) {
            for (int j = 0; j < t; j++) {
                if (mask[i][j] == 0) {
                    continue;
                }
                for (int k = 0; k < v; k++) {
                    int o = (i * t + j) * v + k;
                    worst = Math.max(worst, Math.abs(x[o] - y[o]));
                }
            }
        }
        return worst;
    }

    static NDArray ids(NDManager m, JsonNode batch) {
        long[][] ids = Fixtures.longMatrix(batch.get("input_ids"));
        return m.create(java.util.Arrays.stream(ids).flatMapToLong(java.util.Arrays::stream).toArray(),
                new Shape(ids.length, ids[0].length));
    }

    @ParameterizedTest
    @ValueSource(strings = {"lora", "rslora", "patterns"})
    void peftAdapterReproducesPeftLogitsScalingAndMerge(String c) throws Exception {
        JsonNode batch = Fixtures.json(Fixtures.path("peft/batch.json"));
        int[][] mask = Fixtures.intMatrix(batch.get("attention_mask"));
        JsonNode results = Fixtures.json(dir(c).resolve("results.json"));
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(Fixtures.path("peft/base")), m);
                Safetensors expected = Safetensors.open(dir(c).resolve("expected.safetensors"));
                Safetensors merged = Safetensors.open(dir(c).resolve("merged.safetensors"));
                LoraModel lora = new LoraModel(model)) {
            LoraConfig config = PeftAdapterFormat.read(lora, "default", dir(c));
            // per-module rank and scaling as PEFT resolved target_modules, rank_pattern and alpha_pattern
            int modules = 0;
            for (Iterator<Map.Entry<String, JsonNode>> it = results.get("modules").fields(); it.hasNext(); modules++) {
                Map.Entry<String, JsonNode> e = it.next();
                LoraWeights w = lora.layer(e.getKey()).weights("default");
                assertEquals(e.getValue().get("r").asInt(), w.rank(), e.getKey());
                assertEquals(e.getValue().get("scaling").asDouble(), w.scalingValue(), 1e-6, e.getKey());
            }
            assertEquals(modules * 2, lora.parameters("default").size(), "no module beyond PEFT's");
            NDArray x = ids(m, batch);
            float d = maskedMaxDiff(model.forward(x, null, null, false), expected.load("logits", m), mask);
            assertTrue(d <= 1e-4, c + ": base+adapter logits differ by " + d);
            float base = maskedMaxDiff(lora.withAdaptersDisabled(() -> model.forward(x, null, null, false)),
                    expected.load("base_logits", m), mask);
            assertTrue(base <= 1e-4, c + ": disabled adapter differs from the base by " + base);
            lora.merge("default");
            for (String name : merged.names()) {
                float md = model.parameters().get(name).sub(merged.load(name, m)).abs().max().getFloat();
                assertTrue(md <= 1e-6, c + ": merged " + name + " differs by " + md);
            }
            lora.unmerge("default");

            // our export reads back to the same adapter, bit for bit
            Path out = tmp.resolve(c);
            PeftAdapterFormat.write(lora, "default", out, "base");
            assertEquals(config, PeftAdapterFormat.readConfig(out));
            float[] before = model.forward(x, null, null, false).toFloatArray();
            try (LoraModel again = new LoraModel(model)) {
                lora.disable();
                PeftAdapterFormat.read(again, "default", out);
                assertEquals(0f, maxDiff(before, model.forward(x, null, null, false).toFloatArray()));
            }
        }
    }

    @Test
    void aMismatchWithTheBaseNamesTheTensor() throws Exception {
        Path bad = tmp.resolve("bad");
        Files.createDirectories(bad);
        Files.copy(dir("lora").resolve("adapter_config.json"), bad.resolve("adapter_config.json"));
        // an adapter for a base with a different hidden size: copy rslora's tensors under lora's config (r 4 vs 8)
        Files.copy(dir("rslora").resolve("adapter_model.safetensors"), bad.resolve("adapter_model.safetensors"));
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(Fixtures.path("peft/base")), m);
                LoraModel lora = new LoraModel(model)) {
            BadInputException e = assertThrows(BadInputException.class, () -> PeftAdapterFormat.read(lora, "x", bad));
            assertTrue(e.getMessage().contains("adapter_model.safetensors"), e.getMessage());
            assertTrue(e.getMessage().contains("lora_A.weight") || e.getMessage().contains("lora_B.weight"), e.getMessage());
        }
    }

    static float maxDiff(float[] a, float[] b) {
        float w = 0;
        for (int i = 0; i < a.length; i++) {
            w = Math.max(w, Math.abs(a[i] - b[i]));
        }
        return w;
    }
}
