package org.llamawb.model.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.llamawb.model.Fixtures;
import org.llamawb.model.TestData;
import org.llamawb.model.weights.Checkpoint;

/**
 * NF4 (with and without double quantisation) and per-channel int8 codes of real weights (stories260K's layer-0
 * gate_proj and down_proj, and a 1,000-value slice whose last block is short) equal bitsandbytes 0.50.2's bit for
 * bit, and so do the dequantised weights (fixtures by scripts/reference/make_quant_fixtures.py).
 */
class QuantCodesTest {
    private static final Map<String, byte[]> RAW = new LinkedHashMap<>();
    private static JsonNode meta;
    private static final Map<String, float[]> WEIGHTS = new LinkedHashMap<>();
    private static final Map<String, long[]> SHAPES = new LinkedHashMap<>();

    @BeforeAll
    static void load() throws Exception {
        Path dir = Fixtures.path("quant");
        meta = Fixtures.json(dir.resolve("meta.json"));
        // a safetensors file of U8/I8/F32 tensors, read directly: the weights reader loads only float tensors
        byte[] file = Files.readAllBytes(dir.resolve("codes.safetensors"));
        ByteBuffer bb = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = Math.toIntExact(bb.getLong(0));
        JsonNode header = new ObjectMapper().readTree(new String(file, 8, headerLength, StandardCharsets.UTF_8));
        header.fields().forEachRemaining(e -> {
            if (!e.getKey().equals("__metadata__")) {
                int from = 8 + headerLength + e.getValue().get("data_offsets").get(0).asInt();
                int to = 8 + headerLength + e.getValue().get("data_offsets").get(1).asInt();
                RAW.put(e.getKey(), Arrays.copyOfRange(file, from, to));
            }
        });
        try (Checkpoint c = Checkpoint.open(TestData.require("models/stories260K/stories260K.bin"));
                NDManager m = NDManager.newBaseManager()) {
            for (String t : List.of("gate_proj", "down_proj")) {
                var a = c.weights().load("model.layers.0.mlp." + t + ".weight", m);
                WEIGHTS.put(t, a.toFloatArray());
                SHAPES.put(t, a.getShape().getShape());
            }
        }
        WEIGHTS.put("gate_proj_head1000", Arrays.copyOf(WEIGHTS.get("gate_proj"), 1000));
        SHAPES.put("gate_proj_head1000", new long[] {1000});
    }

    private static float[] floats(String name) {
        ByteBuffer b = ByteBuffer.wrap(RAW.get(name)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    /** Bitwise: the same float32 bit patterns (so NaN and -0 would count too). */
    private static void assertBits(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                throw new AssertionError(what + "[" + i + "]: bitsandbytes " + want[i] + ", ours " + got[i]);
            }
        }
    }

    /** The dequantised weight equals bitsandbytes': in full where the fixture has it, else by SHA-256 of its bytes. */
    private static void assertDequant(String key, float[] got) throws Exception {
        if (RAW.containsKey(key)) {
            assertBits(floats(key), got, key);
            return;
        }
        ByteBuffer b = ByteBuffer.allocate(got.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(got);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b.array()));
        assertEquals(meta.get("dequant_sha256").get(key).asText(), sha, key);
    }

    @Test
    void theTablesAreBitsandbytes() {
        assertBits(floats("nf4.code"), Nf4.LEVELS, "NF4 levels");
        assertBits(floats("nf4dq.code2"), DynamicCode.CODE, "dynamic 8-bit code");
    }

    @Test
    void nf4CodesScalesAndDequantisedWeightsAreBitsandbytes() throws Exception {
        for (String t : WEIGHTS.keySet()) {
            Nf4 q = Nf4.quantize(WEIGHTS.get(t), SHAPES.get(t), Nf4.BLOCK, false);
            assertArrayEquals(RAW.get("nf4." + t + ".packed"), q.packed(), t + " codes");
            assertBits(floats("nf4." + t + ".absmax"), q.absmax(), t + " absmax");
            assertDequant("nf4." + t + ".dequant", q.dequantize());
            // the codes mean something: dequantised within half a level step of the weight (NF4's widest gap 0.30)
            float[] w = WEIGHTS.get(t);
            float[] d = q.dequantize();
            for (int i = 0; i < w.length; i++) {
                assertTrue(Math.abs(w[i] - d[i]) <= 0.31f / 2 * q.absmax()[i / Nf4.BLOCK], t + "[" + i + "]");
            }
        }
    }

    @Test
    void doubleQuantisedScalesAreBitsandbytes() throws Exception {
        for (String t : WEIGHTS.keySet()) {
            float offset = floats("nf4dq." + t + ".offset")[0];
            Nf4 plain = Nf4.quantize(WEIGHTS.get(t), SHAPES.get(t), Nf4.BLOCK, false);
            // given bitsandbytes' offset (torch's float32 mean), the 8-bit codes, their scales and the weights are its
            Nf4.DoubleQuant dq = Nf4.DoubleQuant.of(plain.absmax(), offset);
            assertArrayEquals(RAW.get("nf4dq." + t + ".qabsmax"), dq.codes(), t + " scale codes");
            assertBits(floats("nf4dq." + t + ".absmax2"), dq.absmax2(), t + " absmax2");
            Nf4 nested = new Nf4(SHAPES.get(t), Nf4.BLOCK, plain.packed(), dq.decode(), dq);
            assertDequant("nf4dq." + t + ".dequant", nested.dequantize());
            // our own offset (the mean in float64) is within a few ulps of torch's, and the result within 1e-6 of it
            Nf4 ours = Nf4.quantize(WEIGHTS.get(t), SHAPES.get(t), Nf4.BLOCK, true);
            assertArrayEquals(plain.packed(), ours.packed(), t);
            assertTrue(Math.abs(ours.nested().offset() - offset) <= 4 * Math.ulp(offset), t + " offset " + ours.nested().offset());
            float[] a = ours.dequantize();
            float[] b = nested.dequantize();
            for (int i = 0; i < a.length; i++) {
                assertEquals(b[i], a[i], 1e-6, t + "[" + i + "]");
            }
        }
    }

    @Test
    void int8RowCodesScalesAndDequantisedWeightsAreBitsandbytes() throws Exception {
        for (String t : WEIGHTS.keySet()) {
            int cols = t.endsWith("head1000") ? 50 : (int) SHAPES.get(t)[1];
            Int8Rowwise q = Int8Rowwise.quantize(WEIGHTS.get(t), cols);
            assertArrayEquals(RAW.get("int8." + t + ".codes"), q.codes(), t + " codes");
            assertBits(floats("int8." + t + ".scales"), q.scales(), t + " scales");
            assertDequant("int8." + t + ".dequant", q.dequantize());
        }
    }
}
