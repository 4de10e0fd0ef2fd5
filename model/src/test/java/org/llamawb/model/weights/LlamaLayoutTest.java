package org.llamawb.model.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.llamawb.model.weights.Fixtures.assertBad;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.RopeScaling;

/** Expected Hugging Face tensor names and shapes, and the one-line problems validation reports. */
class LlamaLayoutTest {
    // vocab 10, d 8, ffn 12, 2 layers, 4 heads, 2 kv heads, head_dim 6 (not d / heads)
    private static final LlamaConfig GQA = new LlamaConfig(10, 8, 12, 2, 4, 2, 6, 10000, RopeScaling.NONE, 1e-5, false,
            1, List.of(2), false, false, 64);

    @Test
    void namesAndShapesFollowTransformers() {
        Map<String, long[]> e = LlamaLayout.expected(GQA);
        assertEquals(1 + 2 * 9 + 2, e.size());
        assertEquals(List.of("model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
                "model.layers.0.self_attn.k_proj.weight", "model.layers.0.self_attn.v_proj.weight",
                "model.layers.0.self_attn.o_proj.weight", "model.layers.0.mlp.gate_proj.weight",
                "model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.down_proj.weight",
                "model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight"),
                List.copyOf(e.keySet()).subList(0, 10));
        assertArrayEquals(new long[] {10, 8}, e.get("model.embed_tokens.weight"));
        assertArrayEquals(new long[] {24, 8}, e.get("model.layers.1.self_attn.q_proj.weight"));
        assertArrayEquals(new long[] {12, 8}, e.get("model.layers.1.self_attn.k_proj.weight"));
        assertArrayEquals(new long[] {12, 8}, e.get("model.layers.1.self_attn.v_proj.weight"));
        assertArrayEquals(new long[] {8, 24}, e.get("model.layers.1.self_attn.o_proj.weight"));
        assertArrayEquals(new long[] {12, 8}, e.get("model.layers.1.mlp.up_proj.weight"));
        assertArrayEquals(new long[] {8, 12}, e.get("model.layers.1.mlp.down_proj.weight"));
        assertArrayEquals(new long[] {8}, e.get("model.norm.weight"));
        assertArrayEquals(new long[] {10, 8}, e.get("lm_head.weight"));
        // parameter count agrees with LlamaConfig's own formula
        assertEquals(GQA.parameterCount(), e.values().stream().mapToLong(s -> s.length == 1 ? s[0] : s[0] * s[1]).sum());
    }

    @Test
    void biasesAppearWhenConfigured() {
        LlamaConfig biased = new LlamaConfig(10, 8, 12, 1, 4, 2, 2, 10000, RopeScaling.NONE, 1e-5, true, 1, List.of(2),
                true, true, 64);
        Map<String, long[]> e = LlamaLayout.expected(biased);
        assertArrayEquals(new long[] {8}, e.get("model.layers.0.self_attn.q_proj.bias"));
        assertArrayEquals(new long[] {4}, e.get("model.layers.0.self_attn.k_proj.bias"));
        assertArrayEquals(new long[] {8}, e.get("model.layers.0.self_attn.o_proj.bias"));
        assertArrayEquals(new long[] {12}, e.get("model.layers.0.mlp.up_proj.bias"));
        assertArrayEquals(new long[] {8}, e.get("model.layers.0.mlp.down_proj.bias"));
        assertEquals(false, e.containsKey("lm_head.weight"));
        assertEquals(biased.parameterCount(), e.values().stream().mapToLong(s -> s.length == 1 ? s[0] : s[0] * s[1]).sum());
    }

    @Test
    void reportsTheFirstProblemAsOneLine() {
        Map<String, long[]> ok = new LinkedHashMap<>(LlamaLayout.expected(GQA));
        assertEquals(Optional.empty(), LlamaLayout.problem(ok, GQA));

        Map<String, long[]> wrong = new LinkedHashMap<>(ok);
        wrong.put("model.layers.1.self_attn.k_proj.weight", new long[] {24, 8});
        assertEquals(Optional.of("tensor model.layers.1.self_attn.k_proj.weight: expected shape [12, 8] but found [24, 8]"),
                LlamaLayout.problem(wrong, GQA));

        Map<String, long[]> missing = new LinkedHashMap<>(ok);
        missing.remove("model.layers.1.mlp.up_proj.weight");
        assertEquals(Optional.of("missing tensor 'model.layers.1.mlp.up_proj.weight' (expected shape [12, 8])"),
                LlamaLayout.problem(missing, GQA));

        Map<String, long[]> extra = new LinkedHashMap<>(ok);
        extra.put("model.layers.2.mlp.up_proj.weight", new long[] {12, 8});
        assertEquals(Optional.of("unexpected tensor 'model.layers.2.mlp.up_proj.weight' (not part of a LLaMA model with this config)"),
                LlamaLayout.problem(extra, GQA));

        Map<String, long[]> oldBuffers = new LinkedHashMap<>(ok);
        oldBuffers.put("model.layers.0.self_attn.rotary_emb.inv_freq", new long[] {3});
        assertEquals(Optional.empty(), LlamaLayout.problem(oldBuffers, GQA));
    }

    @Test
    void aTiedCheckpointMayStillHoldTheHead() {
        LlamaConfig tied = GQA.withTiedEmbeddings(true);
        Map<String, long[]> withHead = new LinkedHashMap<>(LlamaLayout.expected(GQA));
        assertEquals(Optional.empty(), LlamaLayout.problem(withHead, tied));
        withHead.put("lm_head.weight", new long[] {10, 9});
        assertEquals(Optional.of("tensor lm_head.weight: expected shape [10, 8] but found [10, 9]"),
                LlamaLayout.problem(withHead, tied));
        withHead.remove("lm_head.weight");
        assertEquals(Optional.empty(), LlamaLayout.problem(withHead, tied));
        // untied: the head is required
        assertEquals(Optional.of("missing tensor 'lm_head.weight' (expected shape [10, 8])"), LlamaLayout.problem(withHead, GQA));
    }

    @Test
    void validateNamesTheSource() throws Exception {
        try (ShardedSafetensors st = ShardedSafetensors.open(
                Fixtures.path("tiny-llama-sharded").resolve(ShardedSafetensors.INDEX_FILE))) {
            LlamaConfig fixture = LlamaConfig.read(Fixtures.path("tiny-llama-sharded"));
            LlamaLayout.validate(st, fixture);
            assertBad(() -> LlamaLayout.validate(st, fixture.withVocabSize(33)), "model.safetensors.index.json: ",
                    "tensor model.embed_tokens.weight: expected shape [33, 8] but found [32, 8]");
        }
    }
}
