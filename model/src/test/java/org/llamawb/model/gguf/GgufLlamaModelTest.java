package org.llamawb.model.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.BadInputException;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.RopeScaling;
import org.llamawb.model.TestData;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.weights.StorageType;

/** The real 1-layer Llama-2 GGUF (F16/F32, real 32k vocabulary), and writing models back to GGUF. */
class GgufLlamaModelTest {
    private static final String TINY = "models/llama2-tiny-random-gguf/llama-2-tiny-random.gguf";

    @TempDir
    Path tmp;

    @Test
    void tinyLlamaLoadsUnderHuggingFaceNames() {
        try (GgufWeights w = GgufWeights.open(TestData.require(TINY))) {
            GgufFile f = w.file();
            assertEquals(3, f.version());
            assertEquals("LLaMA v2", f.string("general.name"));
            assertEquals(1, f.integer("general.file_type"));
            assertEquals(12, f.tensors().size());
            assertEquals(32, f.alignment());
            GgufTensorInfo embd = f.tensor("token_embd.weight").orElseThrow();
            assertEquals(GgmlType.F16, embd.type());
            assertArrayEquals(new long[] {8, 32000}, embd.dims());

            LlamaConfig c = w.config();
            assertEquals(32000, c.vocabSize());
            assertEquals(8, c.hiddenSize());
            assertEquals(32, c.intermediateSize());
            assertEquals(1, c.numHiddenLayers());
            assertEquals(2, c.numAttentionHeads());
            assertEquals(2, c.numKeyValueHeads());
            assertEquals(4, c.headDim());
            assertEquals(10000.0, c.ropeTheta());
            assertEquals(1e-5, c.rmsNormEps());
            assertEquals(4096, c.maxPositionEmbeddings());
            assertFalse(c.tieWordEmbeddings());
            assertEquals(1, c.bosTokenId());
            assertEquals(List.of(2), c.eosTokenIds());
            assertEquals(RopeScaling.NONE, c.ropeScaling());

            Map<String, long[]> expected = Map.ofEntries(
                    Map.entry("model.embed_tokens.weight", new long[] {32000, 8}),
                    Map.entry("model.layers.0.input_layernorm.weight", new long[] {8}),
                    Map.entry("model.layers.0.self_attn.q_proj.weight", new long[] {8, 8}),
                    Map.entry("model.layers.0.self_attn.k_proj.weight", new long[] {8, 8}),
                    Map.entry("model.layers.0.self_attn.v_proj.weight", new long[] {8, 8}),
                    Map.entry("model.layers.0.self_attn.o_proj.weight", new long[] {8, 8}),
                    Map.entry("model.layers.0.post_attention_layernorm.weight", new long[] {8}),
                    Map.entry("model.layers.0.mlp.gate_proj.weight", new long[] {32, 8}),
                    Map.entry("model.layers.0.mlp.up_proj.weight", new long[] {32, 8}),
                    Map.entry("model.layers.0.mlp.down_proj.weight", new long[] {8, 32}),
                    Map.entry("model.norm.weight", new long[] {8}),
                    Map.entry("lm_head.weight", new long[] {32000, 8}));
            assertEquals(expected.keySet(), w.names());
            expected.forEach((name, shape) -> {
                assertArrayEquals(shape, w.info(name).shape(), name);
                assertEquals(shape.length == 1 ? StorageType.F32 : StorageType.F16, w.info(name).dtype(), name);
            });

            // GGUF row-major data is HF row-major once dims are reversed: embedding row 1 = values 8..15.
            float[] raw = f.readFloats(embd);
            float[] hf = w.floats("model.embed_tokens.weight");
            assertArrayEquals(raw, hf, 0f);
            // q rows are un-permuted per head (D = 4): GGUF rows [r0, r2, r1, r3] of head 0 → HF [r0, r1, r2, r3].
            float[] qGguf = f.readFloats(f.tensor("blk.0.attn_q.weight").orElseThrow());
            float[] qHf = w.floats("model.layers.0.self_attn.q_proj.weight");
            assertArrayEquals(row(qGguf, 0), row(qHf, 0), 0f);
            assertArrayEquals(row(qGguf, 2), row(qHf, 1), 0f);
            assertArrayEquals(row(qGguf, 1), row(qHf, 2), 0f);
            assertArrayEquals(row(qGguf, 6), row(qHf, 5), 0f);
            assertFalse(java.util.Arrays.equals(qGguf, qHf), "the permutation moved rows");

            try (NDManager m = NDManager.newBaseManager()) {
                NDArray a = w.load("model.layers.0.mlp.down_proj.weight", m);
                assertEquals(new ai.djl.ndarray.types.Shape(8, 32), a.getShape());
                assertArrayEquals(w.floats("model.layers.0.mlp.down_proj.weight"), a.toFloatArray(), 0f);
            }
            BadInputException e = assertThrows(BadInputException.class, () -> w.info("model.layers.7.mlp.up_proj.weight"));
            assertTrue(e.getMessage().contains("blk.7.ffn_up.weight"), e.getMessage());
        }
    }

    private static float[] row(float[] m, int r) {
        return java.util.Arrays.copyOfRange(m, r * 8, r * 8 + 8);
    }

    @Test
    void tinyLlamaVocabularyEncodesLikeTheLlamaTokenizerModel() {
        String text = "I believe the meaning of life is";
        try (LlamaTokenizer g = LlamaTokenizer.load(TestData.require(TINY));
                LlamaTokenizer spm = LlamaTokenizer.load(TestData.require("tokenizers/llama/tokenizer.model"))) {
            assertArrayEquals(new int[] {1, 306, 4658, 278, 6593, 310, 2834, 338}, g.encode(text, true));
            String[] more = {"Hello, world! 🦙", "  two leading spaces\nand a newline", "naïve café"};
            for (String s : more) {
                assertArrayEquals(spm.encode(s, true), g.encode(s, true), s);
            }
            assertEquals(spm.tokenizerJson(), g.tokenizerJson(), "same vocabulary, same tokenizer.json");
            assertEquals(4096, g.modelMaxLength().orElseThrow());
        }
    }

    /** Export of the real file and read back: every tensor identical (F16 stays F16, norms F32), same metadata. */
    @Test
    void exportRoundTripOfTheRealFileIsExact() throws IOException {
        Path out = tmp.resolve("tiny-copy.gguf");
        try (GgufWeights w = GgufWeights.open(TestData.require(TINY));
                LlamaTokenizer tok = LlamaTokenizer.load(TestData.require(TINY))) {
            LlamaGgufExporter.write(out, w, w.config(), tok, GgmlType.F16);
            try (GgufWeights back = GgufWeights.open(out); LlamaTokenizer tokBack = LlamaTokenizer.load(out)) {
                assertEquals(w.config(), back.config());
                assertEquals(w.names(), back.names());
                for (String n : w.names()) {
                    assertArrayEquals(w.floats(n), back.floats(n), 0f, n);
                    assertEquals(w.info(n), back.info(n));
                }
                // The raw GGUF data is byte-identical too: names, dims and q/k layout as llama.cpp wrote them.
                for (GgufTensorInfo t : w.file().tensors()) {
                    GgufTensorInfo b = back.file().tensor(t.name()).orElseThrow();
                    assertArrayEquals(t.dims(), b.dims());
                    assertEquals(t.type(), b.type());
                    assertEquals(w.file().tensorBytes(t), back.file().tensorBytes(b), t.name());
                }
                assertArrayEquals(w.file().strings("tokenizer.ggml.tokens"), back.file().strings("tokenizer.ggml.tokens"));
                assertArrayEquals(w.file().floats("tokenizer.ggml.scores"), back.file().floats("tokenizer.ggml.scores"));
                assertArrayEquals(w.file().integers("tokenizer.ggml.token_type"),
                        back.file().integers("tokenizer.ggml.token_type"));
                assertEquals(tok.tokenizerJson(), tokBack.tokenizerJson());
            }
        }
    }

    /**
     * A synthetic model with GQA whose rows suit Q8_0 (hidden 64, 4 heads of 16, 2 KV heads), held under
     * Hugging Face names: written as F32 it reads back exactly (so q/k permute and un-permute are inverse),
     * as F16 and Q8_0 within their rounding error; tied embeddings write no output.weight.
     */
    @Test
    void syntheticGqaModelRoundTripsInF32F16AndQ8() throws IOException {
        try (LlamaTokenizer tok = LlamaTokenizer.load(TestData.require("models/stories260K/tok512.model"))) {
            LlamaConfig c = new LlamaConfig(512, 64, 96, 2, 4, 2, 16, 500000.0, RopeScaling.NONE, 1e-6, true, 1,
                    List.of(2), false, false, 1024);
            InMemoryWeights src = InMemoryWeights.random(c, 7);
            for (GgmlType type : List.of(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0)) {
                Path out = tmp.resolve("synthetic-" + type + ".gguf");
                LlamaGgufExporter.write(out, src, c, tok, type);
                try (GgufWeights back = GgufWeights.open(out)) {
                    assertEquals(c, back.config(), type.toString());
                    assertEquals(src.names(), back.names());
                    assertTrue(back.file().tensor("output.weight").isEmpty(), "tied: no output.weight");
                    assertEquals(type, back.file().tensor("blk.0.attn_k.weight").orElseThrow().type());
                    for (String n : src.names()) {
                        float[] want = src.values(n);
                        float[] got = back.floats(n);
                        assertArrayEquals(src.info(n).shape(), back.info(n).shape(), n);
                        boolean vector = src.info(n).shape().length == 1;
                        for (int i = 0; i < want.length; i++) {
                            double tol = vector || type == GgmlType.F32 ? 0
                                    : type == GgmlType.F16 ? Math.max(Math.abs(want[i]) * 0x1p-11, 0x1p-25) // subnormals: absolute
                                    : blockAmax(want, i) / 127 * 0.5 + blockAmax(want, i) * 0x1p-11 + 1e-7;
                            assertEquals(want[i], got[i], tol, n + "[" + i + "] as " + type);
                        }
                    }
                }
            }
        }
    }

    private static double blockAmax(float[] v, int i) {
        int start = i / 32 * 32;
        double m = 0;
        for (int j = start; j < start + 32; j++) {
            m = Math.max(m, Math.abs(v[j]));
        }
        return m;
    }

    @Test
    void ropeScalingSurvivesTheRoundTrip() throws IOException {
        try (LlamaTokenizer tok = LlamaTokenizer.load(TestData.require("models/stories260K/tok512.model"))) {
            for (RopeScaling rs : List.of(new RopeScaling(RopeScaling.Type.LINEAR, 4, 0, 0, 0),
                    new RopeScaling(RopeScaling.Type.LLAMA3, 8, 1, 4, 8192))) {
                LlamaConfig c = new LlamaConfig(512, 64, 96, 1, 4, 4, 128, 500000.0, rs, 1e-5, true, 1, List.of(2),
                        false, false, 131072);
                Path out = tmp.resolve("rope-" + rs.type() + ".gguf");
                LlamaGgufExporter.write(out, InMemoryWeights.random(c, 3), c, tok, GgmlType.F32);
                try (GgufWeights back = GgufWeights.open(out)) {
                    assertEquals(rs.type(), back.config().ropeScaling().type());
                    assertEquals(rs.factor(), back.config().ropeScaling().factor(), 1e-6);
                    assertEquals(c, back.config().withTiedEmbeddings(true));
                    assertEquals(rs.type() == RopeScaling.Type.LLAMA3, back.file().tensor("rope_freqs.weight").isPresent());
                    assertEquals(Set.copyOf(InMemoryWeights.random(c, 3).names()), back.names());
                }
            }
        }
    }

    @Test
    void permutationInvertsExactlyAndMatchesLlamaCppOnAnExample() {
        // One head of D = 4 with rows of length 1: HF rows [a, b, c, d] → GGUF [a, c, b, d] (pairs (0,2), (1,3)).
        assertArrayEquals(new float[] {10, 12, 11, 13}, QkPermutation.toGguf(new float[] {10, 11, 12, 13}, 1, 1), 0f);
        // Two heads of D = 6: reshape [2, 2, 3] → swap → [2, 3, 2].
        float[] hf = new float[12];
        for (int i = 0; i < 12; i++) {
            hf[i] = i;
        }
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11}, QkPermutation.toGguf(hf, 2, 1), 0f);
        java.util.Random r = new java.util.Random(1);
        float[] m = new float[8 * 16 * 5];
        for (int i = 0; i < m.length; i++) {
            m[i] = r.nextFloat();
        }
        assertArrayEquals(m, QkPermutation.toHf(QkPermutation.toGguf(m, 8, 5), 8, 5), 0f);
        assertArrayEquals(m, QkPermutation.toGguf(QkPermutation.toHf(m, 4, 5), 4, 5), 0f);
    }

    @Test
    void tensorNamesMapBothWays() {
        String[][] pairs = {
            {"token_embd.weight", "model.embed_tokens.weight"},
            {"output_norm.weight", "model.norm.weight"},
            {"output.weight", "lm_head.weight"},
            {"blk.12.attn_norm.weight", "model.layers.12.input_layernorm.weight"},
            {"blk.3.attn_q.weight", "model.layers.3.self_attn.q_proj.weight"},
            {"blk.3.attn_q.bias", "model.layers.3.self_attn.q_proj.bias"},
            {"blk.3.attn_k.weight", "model.layers.3.self_attn.k_proj.weight"},
            {"blk.3.attn_v.weight", "model.layers.3.self_attn.v_proj.weight"},
            {"blk.3.attn_output.weight", "model.layers.3.self_attn.o_proj.weight"},
            {"blk.0.ffn_norm.weight", "model.layers.0.post_attention_layernorm.weight"},
            {"blk.0.ffn_gate.weight", "model.layers.0.mlp.gate_proj.weight"},
            {"blk.0.ffn_up.weight", "model.layers.0.mlp.up_proj.weight"},
            {"blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight"},
        };
        for (String[] p : pairs) {
            assertEquals(p[1], LlamaTensorNames.toHf(p[0]).orElseThrow(), p[0]);
            assertEquals(p[0], LlamaTensorNames.toGguf(p[1]).orElseThrow(), p[1]);
        }
        assertTrue(LlamaTensorNames.toHf("blk.0.ffn_gate_exps.weight").isEmpty());
        assertTrue(LlamaTensorNames.toHf("rope_freqs.weight").isEmpty());
        assertTrue(LlamaTensorNames.toGguf("model.layers.0.self_attn.rotary_emb.inv_freq").isEmpty());
    }
}
