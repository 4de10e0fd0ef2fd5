package org.llamawb.model.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.Linear;
import org.llamawb.model.Llama;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.ModelDirectory;
import org.llamawb.model.RopeScaling;
import org.llamawb.model.TestData;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.StorageType;

/**
 * Half-precision storage ({@code model.dtype}) and compact bases converted tensor by tensor while loading: bfloat16
 * rounds as IEEE round-to-nearest-even (without the JVM ever touching a BF16 tensor through DJL), and a model loaded
 * or drawn straight into a compact storage holds exactly what converting the float32 model afterwards holds.
 */
class CompactBaseTest {
    static final List<FrozenStorage> STORAGES = List.of(new FrozenStorage(HalfWeight.Format.BF16, null),
            new FrozenStorage(HalfWeight.Format.FP16, null), new FrozenStorage(null, QuantizedWeight.Kind.NF4),
            new FrozenStorage(HalfWeight.Format.BF16, QuantizedWeight.Kind.INT8));

    /** float32 to bfloat16 to float32 on the bits: round to nearest, ties to even; NaN stays NaN. */
    static float bf16(float x) {
        int b = Float.floatToRawIntBits(x);
        if (Float.isNaN(x)) {
            return x;
        }
        int rounded = b + 0x7FFF + ((b >>> 16) & 1);
        return Float.intBitsToFloat(rounded & 0xFFFF0000);
    }

    @Test
    void bf16RoundsToNearestEvenAndWidensExactly() {
        float[] v = {1.5f, -2.25f, 3.0e-3f, 1.00390625f, 1.01171875f, -1.00390625f, 1e-40f, 3.4e38f, 65504f,
            0.1f, -0.0f, Float.MIN_NORMAL, 123456.789f};
        try (NDManager m = NDManager.newBaseManager()) {
            HalfWeight h = HalfWeight.of(HalfWeight.Format.BF16, m.create(v, new Shape(v.length, 1)), m);
            NDArray dense = h.dense();
            assertEquals(DataType.FLOAT32, dense.getDataType());
            float[] got = dense.toFloatArray();
            for (int i = 0; i < v.length; i++) {
                assertEquals(Float.floatToRawIntBits(bf16(v[i])), Float.floatToRawIntBits(got[i]), "bf16 of " + v[i]);
            }
            assertEquals(2L * v.length, h.bytes());
            assertEquals(new Shape(v.length, 1), h.shape());
        }
    }

    @Test
    void halfTablesGiveTheirRowsAsFloat32() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray table = m.randomNormal(new Shape(11, 6)); // [V, d]
            NDArray ids = m.create(new long[] {3, 0, 10, 3, 7, 1}, new Shape(2, 3)); // [B, T]
            for (HalfWeight.Format f : HalfWeight.Format.values()) {
                HalfWeight h = HalfWeight.of(f, table, m);
                NDArray dense = h.dense(); // [V, d]
                NDArray rows = h.rows(ids); // [B, T, d]
                assertEquals(new Shape(2, 3, 6), rows.getShape());
                assertArrayEquals(dense.get(ids.reshape(-1)).toFloatArray(), rows.toFloatArray(), f + " rows");
                assertRowsAreTheDenseRows(h, f + " table");
                if (f == HalfWeight.Format.FP16) {
                    assertArrayEquals(table.toType(DataType.FLOAT16, false).toType(DataType.FLOAT32, false).toFloatArray(),
                            dense.toFloatArray(), "fp16 as DJL rounds it");
                }
            }
        }
    }

    @Test
    void drawingStraightIntoAStorageEqualsConvertingTheFloat32Model() {
        LlamaConfig c = new LlamaConfig(97, 64, 96, 2, 4, 2, 16, 10000.0, RopeScaling.NONE, 1e-5, false, 1,
                List.of(2), false, false, 128); // untied: the LM head is converted too
        for (FrozenStorage s : STORAGES) {
            try (NDManager m = NDManager.newBaseManager();
                    Llama direct = Llama.random(c, 5, 0.3, m, s);
                    Llama converted = Llama.random(c, 5, 0.3, m)) {
                converted.compress(s);
                assertSameModel(s, direct, converted, m);
            }
        }
    }

    @Test
    void loadingSafetensorsAndGgufStraightIntoAStorageEqualsConvertingTheFloat32Model(@TempDir Path tmp) {
        LlamaConfig c = new LlamaConfig(97, 64, 96, 2, 4, 2, 16, 10000.0, RopeScaling.NONE, 1e-5, true, 1,
                List.of(2), false, false, 128); // tied: one half table for the embedding and the head
        Path f32 = tmp.resolve("f32");
        Path bf16 = tmp.resolve("bf16");
        try (NDManager m = NDManager.newBaseManager(); Llama src = Llama.random(c, 9, 0.3, m)) {
            ModelDirectory.write(f32, c, src.parameters(), null, null, StorageType.F32, ModelDirectory.DEFAULT_SHARD_BYTES);
            ModelDirectory.write(bf16, c, src.parameters(), null, null, StorageType.BF16, ModelDirectory.DEFAULT_SHARD_BYTES);
        }
        List<Path> sources = List.of(f32, bf16, TestData.require("models/llama2-tiny-random-gguf/llama-2-tiny-random.gguf"));
        for (Path p : sources) {
            for (FrozenStorage s : STORAGES) {
                try (NDManager m = NDManager.newBaseManager();
                        Llama direct = Llama.load(Checkpoint.open(p), m, s);
                        Llama converted = Llama.load(Checkpoint.open(p), m)) {
                    converted.compress(s);
                    assertSameModel(s + " from " + p.getFileName(), direct, converted, m);
                    if (direct.config().tieWordEmbeddings() && s.dtype() != null) {
                        assertSame(direct.embedHalf(), direct.lmHead().frozen(), "the tied head shares the table");
                    }
                }
            }
        }
    }

    /** Same compact kinds everywhere, every widened tensor bit-equal, the same logits. */
    private static void assertSameModel(Object what, Llama direct, Llama converted, NDManager m) {
        FrozenStorage s = what instanceof FrozenStorage fs ? fs : null;
        for (int i = 0; i < direct.linears().size(); i++) {
            Linear a = direct.linears().get(i);
            Linear b = converted.linears().get(i);
            assertNotNull(a.frozen(), what + " " + a.name() + " is compact");
            assertEquals(a.frozen().getClass(), b.frozen().getClass(), what + " " + a.name());
            assertEquals(a.frozen().bytes(), b.frozen().bytes(), what + " " + a.name());
        }
        if (s != null) {
            assertEquals(s.dtype() == null, direct.embedHalf() == null, what + ": the embedding follows model.dtype");
        }
        Map<String, NDArray> pa = direct.parameters();
        Map<String, NDArray> pb = converted.parameters();
        assertEquals(pb.keySet(), pa.keySet());
        for (String k : pa.keySet()) {
            assertArrayEquals(pb.get(k).toFloatArray(), pa.get(k).toFloatArray(), what + " " + k);
        }
        NDArray ids = m.create(new long[] {1, 5, 9, 2, 33, 7, 0, 64}, new Shape(1, 8));
        assertArrayEquals(converted.forward(ids, null, null, false).toFloatArray(),
                direct.forward(ids, null, null, false).toFloatArray(), what + " logits");
    }

    @Test
    void aFloat32StorageKeepsEverythingFloat32() {
        LlamaConfig c = new LlamaConfig(97, 32, 48, 1, 4, 2, 8, 10000.0, RopeScaling.NONE, 1e-5, false, 1,
                List.of(2), false, false, 128);
        try (NDManager m = NDManager.newBaseManager(); Llama model = Llama.random(c, 5, 0.3, m, FrozenStorage.FLOAT32)) {
            model.linears().forEach(l -> assertNull(l.frozen(), l.name()));
            assertNull(model.lmHead().frozen());
            assertNull(model.embedHalf());
        }
    }
    /**
     * The codes held in native memory dequantise to exactly the array quantisers' weights (bitsandbytes', see
     * QuantCodesTest), whichever route a shape takes: whole blocks through the fused NF4 kernel, a last block cut
     * short or an odd count of values through the plain gather; int8 rows scaled in place.
     */
    @Test
    void nativeDequantisationIsTheArrayQuantisersBitForBit() {
        long[][] shapes = {{64, 128}, {96, 64}, {3, 50}, {5, 7}, {1, 1}};
        java.util.Random r = new java.util.Random(7);
        try (NDManager m = NDManager.newBaseManager()) {
            for (long[] shape : shapes) {
                float[] w = new float[Math.toIntExact(shape[0] * shape[1])];
                for (int i = 0; i < w.length; i++) {
                    w[i] = (float) (r.nextGaussian() * (1 + i % 5)); // blocks of different scales
                }
                for (boolean nested : new boolean[] {false, true}) {
                    Nf4 q = Nf4.quantize(w, shape, Nf4.BLOCK, nested);
                    try (QuantizedWeight held = QuantizedWeight.of(q, m)) {
                        NDArray d = held.dequantize();
                        assertEquals(new Shape(shape), d.getShape());
                        assertBitsEqual(q.dequantize(), d.toFloatArray(), "nf4 " + new Shape(shape) + " nested " + nested);
                        assertRowsAreTheDenseRows(held, "nf4 " + new Shape(shape));
                    }
                }
                Int8Rowwise q8 = Int8Rowwise.quantize(w, Math.toIntExact(shape[1]));
                try (QuantizedWeight held = QuantizedWeight.of(q8, new Shape(shape), m)) {
                    assertBitsEqual(q8.dequantize(), held.dequantize().toFloatArray(), "int8 " + new Shape(shape));
                    assertRowsAreTheDenseRows(held, "int8 " + new Shape(shape));
                }
            }
        }
    }

    /** {@link FrozenWeight#denseRows} of a few row ranges (the first row, a middle run, the end) equal the rows of dense(). */
    static void assertRowsAreTheDenseRows(FrozenWeight w, String what) {
        long rows = w.shape().get(0);
        float[] dense = w.dense().toFloatArray();
        long in = w.shape().get(1);
        for (long[] r : new long[][] {{0, 1}, {rows / 3, Math.max(rows / 3 + 1, 2 * rows / 3)}, {rows - 1, rows}, {0, rows}}) {
            NDArray got = w.denseRows(r[0], r[1]);
            assertEquals(new Shape(r[1] - r[0], in), got.getShape(), what);
            float[] want = java.util.Arrays.copyOfRange(dense, Math.toIntExact(r[0] * in), Math.toIntExact(r[1] * in));
            assertBitsEqual(want, got.toFloatArray(), what + " rows " + r[0] + ":" + r[1]);
        }
    }

    private static void assertBitsEqual(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) {
            assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), what + " [" + i + "]");
        }
    }
}
