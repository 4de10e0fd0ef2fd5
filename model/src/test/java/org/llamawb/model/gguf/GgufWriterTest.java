package org.llamawb.model.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.gguf.GgufValue.GgufArray;

/** What {@link GgufWriter} writes, {@link GgufFile} reads back: metadata of every kind, tensors within their error. */
class GgufWriterTest {
    @TempDir
    Path tmp;

    @Test
    void metadataAndTensorsRoundTrip() throws IOException {
        Random r = new Random(5);
        float[] v = new float[96 * 3];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian() * (i % 7 == 0 ? 100 : 1);
        }
        GgufArray nested = new GgufArray(GgufValueType.ARRAY, new GgufArray[] {
            GgufArray.ofStrings(new String[] {"x", "y"}), GgufArray.ofStrings(new String[] {"z"})});
        Path p = tmp.resolve("rt.gguf");
        new GgufWriter()
                .putString("general.architecture", "llama")
                .putUint32("general.alignment", 64)
                .putInt32("a.i32", -7)
                .put("a.u64", GgufValue.uint64(-1L))
                .put("a.u8", new GgufValue(GgufValueType.UINT8, 255L))
                .put("a.i16", new GgufValue(GgufValueType.INT16, -12345L))
                .put("a.f64", new GgufValue(GgufValueType.FLOAT64, Math.PI))
                .putFloat32("a.f32", 0.1f)
                .putBool("a.flag", false)
                .putStrings("a.strings", new String[] {"▁t", "<0x0A>", "日本"})
                .putFloat32s("a.floats", new float[] {-1.5f, 2f})
                .putInt32s("a.ints", new int[] {1, 6, 3})
                .put("a.nested", GgufValue.array(nested))
                .addTensor("t.f32", new long[] {96, 3}, GgmlType.F32, () -> v)
                .addTensor("t.f16", new long[] {96, 3}, GgmlType.F16, () -> v)
                .addTensor("t.q8", new long[] {96, 3}, GgmlType.Q8_0, () -> v)
                .write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(64, f.alignment());
            assertEquals(0, f.dataOffset() % 64);
            assertEquals(-7, f.integer("a.i32"));
            assertEquals(-1L, f.integer("a.u64"));
            assertEquals(255, f.integer("a.u8"));
            assertEquals(-12345, f.integer("a.i16"));
            assertEquals(Math.PI, f.optNumber("a.f64").orElseThrow());
            assertEquals(0.1f, (float) f.optNumber("a.f32").orElseThrow());
            assertEquals(false, f.optBool("a.flag").orElseThrow());
            assertArrayEquals(new String[] {"▁t", "<0x0A>", "日本"}, f.strings("a.strings"));
            assertArrayEquals(new float[] {-1.5f, 2f}, f.floats("a.floats"));
            assertArrayEquals(new long[] {1, 6, 3}, f.integers("a.ints"));
            assertEquals(nested, f.array("a.nested", GgufValueType.ARRAY));
            assertEquals(List.of("t.f32", "t.f16", "t.q8"), f.tensors().stream().map(GgufTensorInfo::name).toList());
            for (GgufTensorInfo t : f.tensors()) {
                assertEquals(0, t.offset() % 64, t.name());
            }
            assertArrayEquals(v, f.readFloats(f.tensor("t.f32").orElseThrow()), 0f);
            float[] h = f.readFloats(f.tensor("t.f16").orElseThrow());
            float[] q = f.readFloats(f.tensor("t.q8").orElseThrow());
            for (int i = 0; i < v.length; i++) {
                assertEquals(v[i], h[i], Math.max(Math.abs(v[i]) * 0x1p-11, 0x1p-25), "f16 " + i);
                double amax = 0;
                for (int j = i / 32 * 32; j < i / 32 * 32 + 32; j++) {
                    amax = Math.max(amax, Math.abs(v[j]));
                }
                // Half a quantisation step, plus the f16 rounding of the scale applied to |q| <= 127.
                assertEquals(v[i], q[i], amax / 127 / 2 + amax * 0x1p-11, "q8 " + i);
            }
        }
        assertEquals(List.of(), listPartials(), "no temporary file is left behind");
    }

    private List<Path> listPartials() throws IOException {
        try (var s = Files.list(tmp)) {
            return s.filter(x -> x.toString().endsWith(".partial")).toList();
        }
    }

    @Test
    void refusesWhatItCannotWrite() {
        GgufWriter w = new GgufWriter();
        assertThrows(IllegalArgumentException.class,
                () -> w.addTensor("x", new long[] {32}, GgmlType.Q4_K, () -> new float[32]));
        assertThrows(IllegalArgumentException.class,
                () -> w.addTensor("x", new long[] {33}, GgmlType.Q8_0, () -> new float[33]));
        w.addTensor("x", new long[] {4}, GgmlType.F32, () -> new float[3]);
        assertThrows(IllegalStateException.class, () -> w.write(tmp.resolve("short.gguf")));
        assertEquals(false, Files.exists(tmp.resolve("short.gguf")));
    }
}
