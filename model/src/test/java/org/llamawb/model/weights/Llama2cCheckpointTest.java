package org.llamawb.model.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.llamawb.model.weights.Fixtures.assertBad;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.TestData;

/** llama2.c checkpoints: a synthetic file with known values, the real stories260K in both formats, bad headers. */
class Llama2cCheckpointTest {
    @TempDir
    Path tmp;

    // dim 8, hidden 12, 2 layers, 2 heads of 4, 1 kv head, vocab 6, seq 3
    private static final int D = 8, HID = 12, L = 2, H = 2, KV = 1, V = 6, SEQ = 3, HS = D / H;

    /** llama2.c tensor names (export.py's) with shapes, in the legacy file order. */
    private static Map<String, int[]> legacyOrder(boolean shared) {
        Map<String, int[]> m = new LinkedHashMap<>();
        m.put("tok_embeddings", new int[] {V, D});
        perLayer(m, "attention_norm", D);
        perLayer(m, "wq", H * HS, D);
        perLayer(m, "wk", KV * HS, D);
        perLayer(m, "wv", KV * HS, D);
        perLayer(m, "wo", D, H * HS);
        perLayer(m, "ffn_norm", D);
        perLayer(m, "w1", HID, D);
        perLayer(m, "w2", D, HID);
        perLayer(m, "w3", HID, D);
        m.put("norm", new int[] {D});
        m.put("freq_cis_real", new int[] {SEQ, HS / 2});
        m.put("freq_cis_imag", new int[] {SEQ, HS / 2});
        if (!shared) {
            m.put("output", new int[] {V, D});
        }
        return m;
    }

    private static Map<String, int[]> v1Order(boolean shared) {
        Map<String, int[]> legacy = legacyOrder(shared);
        Map<String, int[]> m = new LinkedHashMap<>();
        for (String group : new String[] {"attention_norm", "ffn_norm", "norm", "tok_embeddings", "wq", "wk", "wv", "wo",
                "w1", "w2", "w3", "output"}) {
            legacy.forEach((k, v) -> {
                if (k.equals(group) || k.startsWith(group + ".")) {
                    m.put(k, v);
                }
            });
        }
        return m;
    }

    private static void perLayer(Map<String, int[]> m, String name, int... shape) {
        for (int l = 0; l < L; l++) {
            m.put(name + "." + l, shape);
        }
    }

    /** Every element: 1000 * (the tensor's rank in sorted name order) + its flat index. Same in both orders. */
    private static float value(String name, int i) {
        List<String> names = new ArrayList<>(legacyOrder(false).keySet());
        names.sort(null);
        return 1000f * names.indexOf(name) + i;
    }

    private static Path write(Path file, int version, boolean shared, int extraBytes) throws Exception {
        Map<String, int[]> order = version == 0 ? legacyOrder(shared) : v1Order(shared);
        int floats = order.values().stream().mapToInt(s -> s.length == 1 ? s[0] : s[0] * s[1]).sum();
        int header = version == 0 ? 28 : 256;
        ByteBuffer b = ByteBuffer.allocate(header + 4 * floats + extraBytes).order(ByteOrder.LITTLE_ENDIAN);
        if (version != 0) {
            b.putInt(0x616b3432).putInt(version);
        }
        b.putInt(D).putInt(HID).putInt(L).putInt(H).putInt(KV).putInt(version == 0 && !shared ? -V : V).putInt(SEQ);
        if (version != 0) {
            b.put((byte) (shared ? 1 : 0));
        }
        b.position(header);
        order.forEach((name, shape) -> {
            int n = shape.length == 1 ? shape[0] : shape[0] * shape[1];
            for (int i = 0; i < n; i++) {
                b.putFloat(value(name, i));
            }
        });
        return Files.write(file, b.array());
    }

    /** Row {@code r} of a llama2.c tensor with {@code cols} columns. */
    private static float[] row(String name, int r, int cols) {
        float[] v = new float[cols];
        for (int c = 0; c < cols; c++) {
            v[c] = value(name, r * cols + c);
        }
        return v;
    }

    private static float[] rows(String name, int cols, int... order) {
        float[] out = new float[order.length * cols];
        for (int i = 0; i < order.length; i++) {
            System.arraycopy(row(name, order[i], cols), 0, out, i * cols, cols);
        }
        return out;
    }

    private static float[] flat(String name, int n) {
        return rows(name, n, 0);
    }

    @Test
    void legacyFileMapsEveryTensorToItsHuggingFaceNameWithRotateHalfRows() throws Exception {
        Path f = write(tmp.resolve("synthetic.bin"), 0, false, 0);
        try (Llama2cCheckpoint c = Llama2cCheckpoint.open(f); NDManager m = NDManager.newBaseManager()) {
            assertEquals(0, c.version());
            LlamaConfig cfg = c.config();
            assertEquals(List.of(V, D, HID, L, H, KV, HS, SEQ),
                    List.of(cfg.vocabSize(), cfg.hiddenSize(), cfg.intermediateSize(), cfg.numHiddenLayers(),
                            cfg.numAttentionHeads(), cfg.numKeyValueHeads(), cfg.headDim(), cfg.maxPositionEmbeddings()));
            assertFalse(cfg.tieWordEmbeddings());
            assertEquals(10000.0, cfg.ropeTheta());
            assertEquals(1e-5, cfg.rmsNormEps());
            assertEquals(1, cfg.bosTokenId());
            assertEquals(List.of(2), cfg.eosTokenIds());
            LlamaLayout.validate(c, cfg);

            assertArrayEquals(rows("tok_embeddings", D, 0, 1, 2, 3, 4, 5), c.load("model.embed_tokens.weight", m).toFloatArray());
            assertArrayEquals(rows("output", D, 0, 1, 2, 3, 4, 5), c.load("lm_head.weight", m).toFloatArray());
            assertArrayEquals(flat("norm", D), c.load("model.norm.weight", m).toFloatArray());
            for (int l = 0; l < L; l++) {
                String p = "model.layers." + l + ".";
                // within each head of 4 rows: the even rows (pair firsts), then the odd rows
                assertArrayEquals(rows("wq." + l, D, 0, 2, 1, 3, 4, 6, 5, 7), c.load(p + "self_attn.q_proj.weight", m).toFloatArray());
                assertArrayEquals(rows("wk." + l, D, 0, 2, 1, 3), c.load(p + "self_attn.k_proj.weight", m).toFloatArray());
                assertArrayEquals(rows("wv." + l, D, 0, 1, 2, 3), c.load(p + "self_attn.v_proj.weight", m).toFloatArray());
                assertArrayEquals(rows("wo." + l, H * HS, 0, 1, 2, 3, 4, 5, 6, 7), c.load(p + "self_attn.o_proj.weight", m).toFloatArray());
                assertArrayEquals(flat("attention_norm." + l, D), c.load(p + "input_layernorm.weight", m).toFloatArray());
                assertArrayEquals(flat("ffn_norm." + l, D), c.load(p + "post_attention_layernorm.weight", m).toFloatArray());
                assertArrayEquals(flat("w1." + l, HID * D), c.load(p + "mlp.gate_proj.weight", m).toFloatArray());
                assertArrayEquals(flat("w2." + l, D * HID), c.load(p + "mlp.down_proj.weight", m).toFloatArray());
                assertArrayEquals(flat("w3." + l, HID * D), c.load(p + "mlp.up_proj.weight", m).toFloatArray());
                assertArrayEquals(new long[] {D, HID}, c.info(p + "mlp.down_proj.weight").shape());
            }
        }
    }

    @Test
    void versionOneFileGivesTheSameTensorsAsLegacy() throws Exception {
        for (boolean shared : new boolean[] {false, true}) {
            Path legacy = write(tmp.resolve("legacy-" + shared + ".bin"), 0, shared, 0);
            Path v1 = write(tmp.resolve("v1-" + shared + ".bin"), 1, shared, 0);
            assertSameTensors(legacy, v1);
            try (Llama2cCheckpoint c = Llama2cCheckpoint.open(v1)) {
                assertEquals(1, c.version());
                assertEquals(shared, c.config().tieWordEmbeddings());
                assertEquals(!shared, c.names().contains("lm_head.weight"));
            }
        }
    }

    @Test
    void storiesLegacyAndV1AreBitIdenticalAndMatchTheTransformersReference() throws Exception {
        Path legacy = TestData.require("models/stories260K/stories260K.bin");
        Path v1 = TestData.require("models/stories260K/stories260K.v1.bin");
        assertSameTensors(legacy, v1);
        JsonNode ref = new ObjectMapper().readTree(Fixtures.path("stories260k-hf.json").toFile());
        try (Llama2cCheckpoint c = Llama2cCheckpoint.open(legacy); NDManager m = NDManager.newBaseManager()) {
            LlamaConfig cfg = c.config();
            assertEquals(List.of(512, 64, 172, 5, 8, 4, 8, 512),
                    List.of(cfg.vocabSize(), cfg.hiddenSize(), cfg.intermediateSize(), cfg.numHiddenLayers(),
                            cfg.numAttentionHeads(), cfg.numKeyValueHeads(), cfg.headDim(), cfg.maxPositionEmbeddings()));
            assertTrue(cfg.tieWordEmbeddings());
            LlamaLayout.validate(c, cfg);
            JsonNode sums = ref.get("sha256_f32_le");
            assertEquals(sums.size(), c.names().size());
            for (String name : c.names()) {
                float[] v = c.load(name, m).toFloatArray();
                ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(v);
                String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b.array()));
                assertEquals(sums.get(name).asText(), sha, name);
            }
        }
    }

    private static void assertSameTensors(Path a, Path b) {
        try (Llama2cCheckpoint x = Llama2cCheckpoint.open(a); Llama2cCheckpoint y = Llama2cCheckpoint.open(b);
                NDManager m = NDManager.newBaseManager()) {
            assertEquals(x.config(), y.config());
            assertEquals(List.copyOf(x.names()), List.copyOf(y.names()));
            for (String name : x.names()) {
                float[] u = x.load(name, m).toFloatArray();
                float[] v = y.load(name, m).toFloatArray();
                assertEquals(u.length, v.length, name);
                for (int i = 0; i < u.length; i++) {
                    assertEquals(Float.floatToRawIntBits(u[i]), Float.floatToRawIntBits(v[i]), name + "[" + i + "]");
                }
            }
        }
    }

    @Test
    void otherVersionsAreRefusedByNumber() throws Exception {
        for (int version : new int[] {7, 2, 0, -1}) {
            Path f = write(tmp.resolve("v" + version + ".bin"), version == 0 ? 99 : version, true, 0);
            int v = version == 0 ? 99 : version;
            assertBad(() -> Llama2cCheckpoint.open(f), "v" + version + ".bin",
                    "unsupported llama2.c version " + v + " (supported: legacy, 1)");
        }
    }

    @Test
    void sizeMismatchReportsExpectedAndFoundBytes() throws Exception {
        Path good = write(tmp.resolve("good.bin"), 0, false, 0);
        long size = Files.size(good);
        Path longer = write(tmp.resolve("longer.bin"), 0, false, 4);
        assertBad(() -> Llama2cCheckpoint.open(longer), "longer.bin", "implies " + size + " bytes but the file has "
                + (size + 4) + " bytes");
        Path v1 = write(tmp.resolve("v1.bin"), 1, true, 0);
        Path cut = tmp.resolve("cut.bin");
        byte[] all = Files.readAllBytes(v1);
        Files.write(cut, java.util.Arrays.copyOf(all, all.length - 8));
        assertBad(() -> Llama2cCheckpoint.open(cut), "cut.bin", "version 1 header", "implies " + all.length
                + " bytes but the file has " + (all.length - 8) + " bytes");
    }

    @Test
    void nonsenseHeadersAreOneLine() throws Exception {
        Path text = Files.writeString(tmp.resolve("notes.bin"), "this is not a checkpoint at all, just text");
        assertBad(() -> Llama2cCheckpoint.open(text), "notes.bin", "llama2.c legacy header", "(not a llama2.c checkpoint?)");
        Path tiny = Files.write(tmp.resolve("tiny.bin"), new byte[10]);
        assertBad(() -> Llama2cCheckpoint.open(tiny), "tiny.bin", "too short");
        ByteBuffer b = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(8).putInt(12).putInt(1).putInt(4).putInt(3).putInt(6).putInt(3);
        Path gqa = Files.write(tmp.resolve("gqa.bin"), b.array());
        assertBad(() -> Llama2cCheckpoint.open(gqa), "gqa.bin", "n_kv_heads (3) must divide n_heads (4)");
        ByteBuffer big = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
        big.putInt(1 << 30).putInt(1 << 30).putInt(1 << 30).putInt(1 << 2).putInt(1).putInt(1 << 30).putInt(1 << 30);
        Path huge = Files.write(tmp.resolve("huge.bin"), big.array());
        assertBad(() -> Llama2cCheckpoint.open(huge), "huge.bin", "implies");
    }
}
