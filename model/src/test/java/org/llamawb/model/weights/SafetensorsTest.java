package org.llamawb.model.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading and writing single safetensors files against files written by the Python library. */
class SafetensorsTest {
    @TempDir
    Path tmp;

    private static final float TIE_DOWN = 1f + 0x1p-8f;
    private static final float TIE_UP = 1f + 3 * 0x1p-8f;
    private static final float ABOVE_TIE = 1f + 0x1p-8f + 0x1p-20f;

    @Test
    void readsPythonF32ExactlyWithMetadataAndShapes() {
        try (Safetensors st = Safetensors.open(Fixtures.path("mixed-f32.safetensors"));
                NDManager m = NDManager.newBaseManager()) {
            assertEquals(Map.of("format", "pt"), st.metadata());
            // the library stores tensors sorted by name (one dtype), comparing bytes: "10" before "2"
            assertEquals(List.of("a", "b.weight", "empty", "model.layers.10.x", "model.layers.2.x", "scalar"),
                    List.copyOf(st.names()));
            assertArrayEquals(new long[] {2, 3}, st.info("model.layers.2.x").shape());
            assertEquals(StorageType.F32, st.info("a").dtype());
            NDArray scalar = st.load("scalar", m);
            assertEquals(0.1f, scalar.getFloat());
        }
    }

    @Test
    void decodesSpecialValuesOfEachDtypeAsTorchRoundsThem() {
        float[] f32 = values("mixed-f32.safetensors", "a");
        assertArrayEquals(new float[] {TIE_DOWN, TIE_UP, ABOVE_TIE, 65520f, 1e-8f, 3e-6f, -0f,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 3.4e38f}, f32);
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(f32[6]));

        float[] bf16 = values("mixed-bf16.safetensors", "a");
        assertArrayEquals(new float[] {1f, 1f + 0x1p-6f, 1f + 0x1p-7f, 65536f}, java.util.Arrays.copyOf(bf16, 4));
        assertEquals(Float.POSITIVE_INFINITY, bf16[10]); // 3.4e38 rounds up past the largest bf16
        assertTrue(Float.isNaN(bf16[9]));
        for (int i = 0; i < f32.length; i++) {
            if (i == 9) {
                continue; // NaN: any payload
            }
            // widening is exact: the bf16 bits shifted into the top half of a float
            assertEquals(SafetensorsWriter.toBfloat16(f32[i]) << 16, Float.floatToRawIntBits(bf16[i]), "a[" + i + "]");
        }

        float[] f16 = values("mixed-f16.safetensors", "a");
        assertEquals(TIE_DOWN, f16[0]); // 1 + 2^-8 fits the 10-bit mantissa
        assertEquals(Float.POSITIVE_INFINITY, f16[3]); // 65520 overflows
        assertEquals(0f, f16[4]); // 1e-8 underflows
        assertEquals(50 * 0x1p-24f, f16[5]); // 3e-6 becomes the subnormal 50 * 2^-24
        assertTrue(Float.isNaN(f16[9]));
    }

    @Test
    void scalarAndEmptyTensorsKeepTheirShapes() {
        try (Safetensors st = Safetensors.open(Fixtures.path("mixed-bf16.safetensors"));
                NDManager m = NDManager.newBaseManager()) {
            NDArray scalar = st.load("scalar", m);
            assertEquals(new Shape(), scalar.getShape());
            assertEquals(0.10009765625f, scalar.getFloat()); // 0.1 in bf16
            NDArray empty = st.load("empty", m);
            assertEquals(new Shape(2, 0), empty.getShape());
            assertEquals(DataType.FLOAT32, empty.getDataType());
            assertArrayEquals(new long[] {3, 5}, st.info("b.weight").shape());
            assertEquals(StorageType.BF16, st.info("b.weight").dtype());
        }
    }

    @Test
    void writesTheSameBytesAsPythonInEachDtype() throws Exception {
        try (Safetensors src = Safetensors.open(Fixtures.path("mixed-f32.safetensors"))) {
            for (StorageType t : StorageType.values()) {
                if (t == StorageType.QUANTIZED) {
                    continue;
                }
                SafetensorsWriter w = new SafetensorsWriter(t);
                // added in an order unlike the file order: the writer sorts as the library does
                for (String name : List.of("scalar", "model.layers.2.x", "a", "empty", "model.layers.10.x", "b.weight")) {
                    w.add(name, src);
                }
                Path out = tmp.resolve("java-" + t + ".safetensors");
                w.writeFile(out);
                String expected = "mixed-" + t.name().toLowerCase() + ".safetensors";
                assertArrayEquals(Files.readAllBytes(Fixtures.path(expected)), Files.readAllBytes(out), expected);
            }
        }
    }

    @Test
    void roundTripsF32ExactlyAndF16Bf16AsRounded() throws Exception {
        Random r = new Random(42);
        float[] v = new float[6 * 7];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(9) - 4));
        }
        v[0] = Float.MIN_VALUE;
        v[1] = -Float.MAX_VALUE;
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray arr = m.create(v, new Shape(6, 7));
            for (StorageType t : List.of(StorageType.F32, StorageType.F16, StorageType.BF16)) {
                Path f = tmp.resolve("rt-" + t + ".safetensors");
                new SafetensorsWriter(t).add("w", arr).add("v", v, 42).writeFile(f);
                try (Safetensors st = Safetensors.open(f)) {
                    float[] back = st.load("w", m).toFloatArray();
                    float[] flat = st.load("v", m).toFloatArray();
                    assertArrayEquals(back, flat);
                    assertEquals(new Shape(6, 7), st.load("w", m).getShape());
                    for (int i = 0; i < v.length; i++) {
                        float want = switch (t) {
                            case F32 -> v[i];
                            case BF16 -> Float.intBitsToFloat(SafetensorsWriter.toBfloat16(v[i]) << 16);
                            default -> m.create(v[i]).toType(DataType.FLOAT16, true).toType(DataType.FLOAT32, true)
                                    .getFloat(); // libtorch's conversion as the independent reference
                        };
                        assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(back[i]), t + " [" + i + "]");
                    }
                }
            }
        }
    }

    @Test
    void bfloat16RoundsToNearestEven() {
        assertEquals((short) 0x3F80, SafetensorsWriter.toBfloat16(TIE_DOWN));
        assertEquals((short) 0x3F82, SafetensorsWriter.toBfloat16(TIE_UP));
        assertEquals((short) 0x3F81, SafetensorsWriter.toBfloat16(ABOVE_TIE));
        assertEquals((short) 0x7F80, SafetensorsWriter.toBfloat16(3.4e38f)); // rounds up to infinity
        assertEquals((short) 0xBF80, SafetensorsWriter.toBfloat16(-1f));
        assertEquals((short) 0xFFFF, SafetensorsWriter.toBfloat16(Float.NaN)); // torch's vectorised CPU kernel
    }

    @Test
    void float16EncodingAgreesWithLibtorchAndRoundTripsEveryHalf() {
        try (NDManager m = NDManager.newBaseManager()) {
            // every half (NaNs aside) widens and comes back to the same bits
            short[] all = new short[65536];
            for (int i = 0; i < all.length; i++) {
                all[i] = (short) i;
            }
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(2 * all.length).order(java.nio.ByteOrder.nativeOrder());
            b.asShortBuffer().put(all);
            float[] wide = m.create(b, new Shape(all.length), DataType.FLOAT16).toType(DataType.FLOAT32, true).toFloatArray();
            for (int i = 0; i < all.length; i++) {
                if (!Float.isNaN(wide[i])) {
                    assertEquals((short) i, SafetensorsWriter.toFloat16(wide[i]), "half 0x" + Integer.toHexString(i));
                }
            }
            // random floats of every magnitude round as libtorch rounds them
            Random r = new Random(3);
            float[] v = new float[200_000];
            for (int i = 0; i < v.length; i++) {
                v[i] = Float.intBitsToFloat(r.nextInt() & 0xBFFFFFFF | (r.nextBoolean() ? 0 : 0x30000000));
                if (Float.isNaN(v[i])) {
                    v[i] = 0f;
                }
            }
            java.nio.ShortBuffer torch = m.create(v).toType(DataType.FLOAT16, true).toByteBuffer()
                    .order(java.nio.ByteOrder.nativeOrder()).asShortBuffer();
            for (int i = 0; i < v.length; i++) {
                assertEquals(torch.get(i), SafetensorsWriter.toFloat16(v[i]), "value " + v[i]);
            }
            assertEquals((short) 0x7E00, SafetensorsWriter.toFloat16(Float.NaN)); // torch's NaN
        }
    }

    @Test
    void largeTensorsDecodeInPiecesToTheSameValues() throws Exception {
        float[] v = new float[1000];
        for (int i = 0; i < v.length; i++) {
            v[i] = i * 0.5f - 17f;
        }
        Path f = tmp.resolve("chunks.safetensors");
        new SafetensorsWriter(StorageType.BF16).add("x", v, 10, 100).writeFile(f);
        try (MappedFile file = MappedFile.open(f); NDManager m = NDManager.newBaseManager();
                Safetensors st = Safetensors.open(f)) {
            long offset = f.toFile().length() - 2000;
            NDArray whole = TensorDecoder.decode(file, offset, StorageType.BF16, new long[] {10, 100}, m);
            NDArray pieces = TensorDecoder.decode(file, offset, StorageType.BF16, new long[] {10, 100}, m, 4 * 33);
            assertEquals(new Shape(10, 100), pieces.getShape());
            assertArrayEquals(whole.toFloatArray(), pieces.toFloatArray());
            assertArrayEquals(st.load("x", m).toFloatArray(), pieces.toFloatArray());
            assertEquals(482f, pieces.toFloatArray()[999]); // 482.5 in bf16 (8 significant bits)
        }
    }

    @Test
    void inPlaceChangesToALoadedArrayNeverReachTheFile() throws Exception {
        Path f = tmp.resolve("cow.safetensors");
        new SafetensorsWriter(StorageType.F32).add("w", new float[] {1, 2, 3, 4}, 2, 2).writeFile(f);
        byte[] before = Files.readAllBytes(f);
        try (Safetensors st = Safetensors.open(f); NDManager m = NDManager.newBaseManager()) {
            NDArray w = st.load("w", m);
            w.muli(m.full(new Shape(), 10f)); // an optimiser step
            assertArrayEquals(new float[] {10, 20, 30, 40}, w.toFloatArray());
            assertArrayEquals(new float[] {1, 2, 3, 4}, st.load("w", m).toFloatArray());
        }
        assertArrayEquals(before, Files.readAllBytes(f));
    }

    @Test
    void unalignedTensorsFromOtherWritersDecodeCorrectly() throws Exception {
        // an F16 tensor of one element puts the F32 tensor after it at an odd-of-4 offset
        Path odd = Fixtures.rawSafetensors(tmp.resolve("odd.safetensors"),
                "{\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]},"
                        + "\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[2,10]}}",
                new byte[] {0, 0x3c, 0, 0, (byte) 0x80, 0x3f, 0, 0, 0, 0x40});
        try (Safetensors st = Safetensors.open(odd); NDManager m = NDManager.newBaseManager()) {
            assertArrayEquals(new float[] {1f, 2f}, st.load("f", m).toFloatArray());
            assertArrayEquals(new float[] {1f}, st.load("h", m).toFloatArray());
        }
    }

    @Test
    void headerIsPaddedWithSpacesToEightBytes() throws Exception {
        Path f = tmp.resolve("pad.safetensors");
        new SafetensorsWriter(StorageType.F32).add("x", new float[] {1}, 1).writeFile(f);
        byte[] b = Files.readAllBytes(f);
        long n = java.nio.ByteBuffer.wrap(b, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8);
        String header = new String(b, 8, (int) n, java.nio.charset.StandardCharsets.UTF_8);
        assertEquals("{\"__metadata__\":{\"format\":\"pt\"},\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                header.stripTrailing());
        assertEquals(8 + n + 4, b.length);
    }

    private static float[] values(String file, String name) {
        try (Safetensors st = Safetensors.open(Fixtures.path(file)); NDManager m = NDManager.newBaseManager()) {
            return st.load(name, m).toFloatArray();
        }
    }
}
