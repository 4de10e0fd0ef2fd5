package org.llamawb.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.Safetensors;

/**
 * Logits equal Hugging Face transformers' (fixtures by scripts/reference/make_llama_fixtures.py):
 * full-sequence and KV-cache decoding, both attention paths, for GQA, tied and untied heads, llama3 and
 * linear RoPE scaling, head_dim != hidden/heads, BF16 storage, sharded files, biases and pre-v5 configs.
 */
class HfLogitParityTest {
    static final float TOLERANCE = 1e-4f;

    static long[] flat(long[][] m) {
        return java.util.Arrays.stream(m).flatMapToLong(java.util.Arrays::stream).toArray();
    }

    static float maxDiff(NDArray a, NDArray b) {
        assertEquals(b.getShape(), a.getShape());
        return a.sub(b).abs().max().getFloat();
    }

    @ParameterizedTest
    @ValueSource(strings = {"gqa", "tied", "llama3_rope", "linear_rope", "head_dim", "bf16", "sharded", "bias",
            "legacy_config", "legacy_llama3"})
    void logitsMatchTransformers(String name) {
        Path dir = Fixtures.path("hf/" + name);
        JsonNode inputs = Fixtures.json(dir.resolve("inputs.json"));
        long[][] ids = Fixtures.longMatrix(inputs.get("input_ids"));
        int prefill = inputs.get("prefill").asInt();
        int b = ids.length;
        int t = ids[0].length;
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(dir), m);
                Safetensors expected = Safetensors.open(dir.resolve("expected.safetensors"));
                NDScope scope = new NDScope()) {
            NDArray want = expected.load("logits", m);
            NDArray wantDecode = expected.load("decode_logits", m);
            NDArray x = m.create(flat(ids), new Shape(b, t));
            // separate projections, then q/k/v and gate/up stacked (Llama.fuseFrozenProjections; bf16 storage is widened
            // to float32 on loading, so every fixture stacks float32 weights here)
            for (boolean fused : new boolean[] {false, true}) {
                assertEquals(fused ? 2 * model.layers().size() : 0, model.fuseFrozenProjections(fused));
                for (AttentionImplementation impl : AttentionImplementation.values()) {
                    model.setAttentionImplementation(impl);
                    String what = name + " " + impl + (fused ? " stacked" : "");
                    float full = maxDiff(model.forward(x, null, null, false), want);
                    assertTrue(full <= TOLERANCE, what + " full forward differs by " + full);
                    try (KvCache cache = model.newCache(b, t)) {
                        model.decodeAll(x.get(new NDIndex(":, :{}", prefill)), cache);
                        for (int i = prefill; i < t; i++) {
                            NDArray step = model.decode(x.get(new NDIndex(":, {}:{}", i, i + 1)), cache); // [B, V]
                            NDArray ref = wantDecode.get(new NDIndex(":, {}, :", i - prefill));
                            float d = maxDiff(step, ref);
                            assertTrue(d <= TOLERANCE, what + " decode step " + i + " differs by " + d);
                        }
                    }
                }
            }
        }
    }

    @Test
    void packedDocumentsEqualSeparateRuns() {
        Path dir = Fixtures.path("hf/packed");
        JsonNode inputs = Fixtures.json(dir.resolve("inputs.json"));
        long[][] ids = Fixtures.longMatrix(inputs.get("input_ids"));
        long[][] pos = Fixtures.longMatrix(inputs.get("position_ids"));
        long[][] docs = Fixtures.longMatrix(inputs.get("documents"));
        int t = ids[0].length;
        long[] seg = new long[t];
        for (int d = 0; d < docs.length; d++) {
            for (long i = docs[d][0]; i < docs[d][1]; i++) {
                seg[(int) i] = d;
            }
        }
        try (NDManager m = NDManager.newBaseManager();
                Llama model = Llama.load(Checkpoint.open(dir), m);
                Safetensors expected = Safetensors.open(dir.resolve("expected.safetensors"))) {
            NDArray want = expected.load("logits", m);
            for (AttentionImplementation impl : AttentionImplementation.values()) {
                model.setAttentionImplementation(impl);
                NDArray got = model.forward(m.create(flat(ids), new Shape(1, t)), m.create(flat(pos), new Shape(1, t)),
                        m.create(seg, new Shape(1, t)), false);
                float d = maxDiff(got, want);
                assertTrue(d <= TOLERANCE, impl + " packed differs by " + d);
            }
        }
    }

    @Test
    void greedyDecodingMatchesTransformers() {
        try (NDManager m = NDManager.newBaseManager(); Llama model = Llama.load(Checkpoint.open(Fixtures.path("hf/gqa")), m)) {
            int[] out = new org.llamawb.model.generate.Generator(model)
                    .generate(new int[] {1}, org.llamawb.model.generate.Sampling.greedy(8, java.util.Set.of()), id -> { });
            // transformers' generate() from BOS on this fixture (bench/peer/README.md)
            assertEquals(List.of(103, 75, 103, 25, 42, 104, 59, 100), java.util.Arrays.stream(out).boxed().toList());
        }
    }
}
