package org.llamawb.model.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.llamawb.model.BadInputException;
import org.llamawb.model.gguf.GgufValue.GgufArray;

/**
 * The fixture {@code fixtures/gguf/quants.gguf} written by {@code scripts/reference/gguf_quant_fixture.py}
 * with llama.cpp's Python {@code gguf} package: metadata of every type, and blocks of each supported
 * type beside their dequantisation by {@code gguf.quants}.
 */
class GgufQuantsTest {
    private static Path file;
    private static GgufFile gguf;

    @BeforeAll
    static void open() throws IOException {
        file = Files.createTempFile("quants", ".gguf");
        try (InputStream in = GgufQuantsTest.class.getResourceAsStream("/fixtures/gguf/quants.gguf")) {
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
        gguf = GgufFile.open(file);
    }

    @AfterAll
    static void close() throws IOException {
        gguf.close();
        Files.deleteIfExists(file);
    }

    @Test
    void metadataOfEveryValueType() {
        assertEquals(3, gguf.version());
        assertEquals("llama", gguf.string("general.architecture"));
        assertEquals(200, gguf.integer("test.u8"));
        assertEquals(-100, gguf.integer("test.i8"));
        assertEquals(60000, gguf.integer("test.u16"));
        assertEquals(-30000, gguf.integer("test.i16"));
        assertEquals(4_000_000_000L, gguf.integer("test.u32"));
        assertEquals(-2_000_000_000, gguf.integer("test.i32"));
        assertEquals(3.25, gguf.optNumber("test.f32").orElseThrow());
        assertEquals("9223372036854775813", Long.toUnsignedString(gguf.integer("test.u64")));
        assertEquals(-(1L << 40), gguf.integer("test.i64"));
        assertEquals(2.5e-300, gguf.optNumber("test.f64").orElseThrow());
        assertEquals(true, gguf.optBool("test.bool").orElseThrow());
        assertEquals("héllo ✓", gguf.string("test.string"));
        assertArrayEquals(new String[] {"a", "bc", ""}, gguf.strings("test.strings"));
        GgufArray nested = gguf.array("test.nested", GgufValueType.ARRAY);
        GgufArray[] inner = (GgufArray[]) nested.values();
        assertEquals(2, inner.length);
        assertArrayEquals(new long[] {1, 2}, (long[]) inner[0].values());
        assertArrayEquals(new long[] {3}, (long[]) inner[1].values());
        assertEquals(GgufValueType.INT32, inner[0].elementType());
        BadInputException e = assertThrows(BadInputException.class, () -> gguf.string("test.u8"));
        assertTrue(e.getMessage().contains("'test.u8' must be a string"), e.getMessage());
        assertEquals(19, gguf.tensors().size());
        GgufTensorInfo q = gguf.tensor("raw.Q4_K").orElseThrow();
        assertArrayEquals(new long[] {256, 2}, q.dims());
        assertArrayEquals(new long[] {2, 256}, q.shape());
        assertEquals(2 * 144, q.byteSize());
        assertEquals(0, (gguf.dataOffset() + q.offset()) % 32);
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q4_0", "Q4_1", "Q8_0", "Q4_K", "Q6_K", "F16", "BF16"})
    void dequantisationIsBitExactWithGgufPy(String type) {
        GgufTensorInfo raw = gguf.tensor("raw." + type).orElseThrow();
        assertEquals(GgmlType.valueOf(type), raw.type());
        float[] expected = gguf.readFloats(gguf.tensor("expected." + type).orElseThrow());
        float[] got = gguf.readFloats(raw);
        assertEquals(512, got.length);
        assertArrayEquals(expected, got, 0f, type);
        // Mapped in tiny windows (one block at a time) the result is the same.
        assertArrayEquals(expected, gguf.readFloats(raw, 1), 0f, type + " windowed");
        double spread = 0;
        for (float v : got) {
            spread = Math.max(spread, Math.abs(v));
        }
        assertTrue(spread > 0, "random blocks decode to non-zero values");
    }

    @Test
    void q8AndF16EncodingIsBitExactWithGgufPy() {
        float[] source = gguf.readFloats(gguf.tensor("source.f32").orElseThrow());
        for (var c : List.of(Mapped.of(GgmlType.Q8_0, "source.q8_0"), Mapped.of(GgmlType.F16, "source.f16"))) {
            ByteBuffer expected = gguf.tensorBytes(gguf.tensor(c.name()).orElseThrow());
            ByteBuffer got = ByteBuffer.allocate(expected.capacity()).order(ByteOrder.LITTLE_ENDIAN);
            Quantizer.quantize(c.type(), source, 0, source.length, got);
            got.flip();
            assertEquals(expected, got, c.name());
        }
        float[] edge = gguf.readFloats(gguf.tensor("edge.f32").orElseThrow());
        ByteBuffer f16 = gguf.tensorBytes(gguf.tensor("edge.f16").orElseThrow());
        for (int i = 0; i < edge.length; i++) {
            assertEquals(f16.getShort(2 * i), Float16.fromFloat(edge[i]), "float16 of " + edge[i]);
            assertEquals(Float16.toFloat(f16.getShort(2 * i)), Float16.toFloat(Float16.fromFloat(edge[i])), 0f);
        }
        // ggml rounds halves away from zero: -15.5 → -16 with d = 1 (Java's Math.round would give -15).
        assertEquals(-16, Quantizer.roundHalfAway(-15.5f));
        assertEquals(16, Quantizer.roundHalfAway(15.5f));
        assertEquals(0, Quantizer.roundHalfAway(0.49999997f));
    }

    private record Mapped(GgmlType type, String name) {
        static Mapped of(GgmlType t, String n) {
            return new Mapped(t, n);
        }
    }

    @Test
    void everyHalfPrecisionValueSurvivesTheRoundTrip() {
        for (int bits = 0; bits < 0x10000; bits++) {
            float f = Float16.toFloat((short) bits);
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(Float16.toFloat(Float16.fromFloat(f))));
            } else {
                assertEquals((short) bits, Float16.fromFloat(f), "bits " + Integer.toHexString(bits));
            }
        }
        assertEquals(1.0f, Float16.bf16ToFloat((short) 0x3F80));
    }
}
