package org.llamawb.model.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Linear;
import org.llamawb.model.Llama;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.RopeScaling;
import org.llamawb.model.TestData;
import org.llamawb.model.quant.FrozenStorage;
import org.llamawb.model.quant.GgufBlockWeight;
import org.llamawb.model.quant.HalfWeight;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.weights.Checkpoint;

/**
 * GGUF blocks kept as the file stores them ({@code model.quantize: keep}) widen to exactly the values the up-front
 * {@link Dequantizer} gives, bit for bit: on synthetic blocks (random codes, scales and minimums of every sign and
 * magnitude, subnormals included), on gguf.py's own blocks, and through a whole model whose q/k rows are permuted
 * block row by block row.
 */
class GgufKeptBlocksTest {
    @TempDir
    Path tmp;

    private static GgmlType ggml(GgufBlockWeight.Format f) {
        return GgmlType.valueOf(f.name());
    }

    /** A finite float16 bit pattern: normal or subnormal, either sign, up to 65504. */
    private static short finiteHalf(SplittableRandom r) {
        int exp = r.nextInt(31); // 31 is inf/NaN
        return (short) ((r.nextBoolean() ? 0x8000 : 0) | exp << 10 | r.nextInt(1024));
    }

    private static ByteBuffer randomBlocks(GgufBlockWeight.Format f, int blocks, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        ByteBuffer b = ByteBuffer.allocate(blocks * f.blockBytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < blocks; i++) {
            b.putShort(finiteHalf(r)); // d
            if (f == GgufBlockWeight.Format.Q4_1) {
                b.putShort(finiteHalf(r)); // m
            }
            int codes = f == GgufBlockWeight.Format.Q8_0 ? 32 : 16;
            for (int j = 0; j < codes; j++) {
                b.put((byte) r.nextInt(256));
            }
        }
        return b.flip();
    }

    private static void assertSameBits(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                throw new AssertionError(what + " [" + i + "]: Dequantizer " + want[i] + ", kept blocks " + got[i]);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(GgufBlockWeight.Format.class)
    void syntheticBlocksWidenToTheDequantizersBits(GgufBlockWeight.Format f) {
        int rows = 7;
        int cols = 160; // 5 blocks a row
        ByteBuffer blocks = randomBlocks(f, rows * cols / 32, 11 + f.ordinal());
        float[] want = new float[rows * cols];
        Dequantizer.dequantize(ggml(f), blocks, want, 0, want.length);
        try (NDManager m = NDManager.newBaseManager()) {
            GgufBlockWeight w = GgufBlockWeight.of(f, blocks, new Shape(rows, cols), m);
            assertEquals(new Shape(rows, cols), w.shape());
            assertEquals((long) rows * cols / 32 * f.blockBytes(), w.bytes(), "held as compactly as the file");
            NDArray dense = w.dense();
            assertEquals(new Shape(rows, cols), dense.getShape());
            assertSameBits(want, dense.toFloatArray(), f.toString());
            assertSameBits(want, w.dense().toFloatArray(), f + " again (the codes are unchanged by a use)");
        }
    }

    @ParameterizedTest
    @EnumSource(GgufBlockWeight.Format.class)
    void ggufPysBlocksWidenToGgufPysValues(GgufBlockWeight.Format f) throws IOException {
        Path file = tmp.resolve("quants.gguf");
        try (InputStream in = getClass().getResourceAsStream("/fixtures/gguf/quants.gguf")) {
            Files.copy(in, file);
        }
        try (GgufFile g = GgufFile.open(file); NDManager m = NDManager.newBaseManager()) {
            GgufTensorInfo raw = g.tensor("raw." + f.name()).orElseThrow();
            float[] expected = g.readFloats(g.tensor("expected." + f.name()).orElseThrow()); // gguf.quants' values
            GgufBlockWeight w = GgufBlockWeight.of(f, g.tensorBytes(raw), new Shape(4, expected.length / 4), m);
            assertSameBits(expected, w.dense().toFloatArray(), f + " of gguf.py");
        }
    }

    @Test
    void malformedShapesAreRefused() {
        try (NDManager m = NDManager.newBaseManager()) {
            ByteBuffer b = randomBlocks(GgufBlockWeight.Format.Q8_0, 2, 1);
            assertThrows(IllegalArgumentException.class,
                    () -> GgufBlockWeight.of(GgufBlockWeight.Format.Q8_0, b, new Shape(2, 48), m));
            assertThrows(IllegalArgumentException.class,
                    () -> GgufBlockWeight.of(GgufBlockWeight.Format.Q8_0, b, new Shape(3, 32), m));
        }
    }

    /**
     * A GQA model written as Q8_0 (4 query heads, 2 key/value heads: q and k rows permuted) loads with its blocks kept
     * and gives the dequantised model's weights and logits bit for bit; an F16 file keeps its projections in float16,
     * also exactly.
     */
    @Test
    void aModelWithItsBlocksKeptGivesTheDequantisedModelsLogits() throws IOException {
        LlamaConfig c = new LlamaConfig(512, 64, 96, 2, 4, 2, 16, 500000.0, RopeScaling.NONE, 1e-6, true, 1,
                List.of(2), false, false, 1024);
        Path q8 = tmp.resolve("synthetic-q8.gguf");
        try (LlamaTokenizer tok = LlamaTokenizer.load(TestData.require("models/stories260K/tok512.model"))) {
            LlamaGgufExporter.write(q8, InMemoryWeights.random(c, 7), c, tok, GgmlType.Q8_0);
        }
        Path f16 = TestData.require("models/llama2-tiny-random-gguf/llama-2-tiny-random.gguf");
        for (Path file : List.of(q8, f16)) {
            for (HalfWeight.Format dtype : new HalfWeight.Format[] {null, HalfWeight.Format.BF16}) {
                FrozenStorage keep = FrozenStorage.keepingGguf(dtype);
                try (NDManager m = NDManager.newBaseManager();
                        Llama dequantised = Llama.load(Checkpoint.open(file), m);
                        Llama kept = Llama.load(Checkpoint.open(file), m, keep);
                        NDScope scope = new NDScope()) {
                    String what = file.getFileName() + " " + keep.describe();
                    if (dtype != null) {
                        // the dequantised model with model.dtype's embedding and head (its projections stay float32)
                        for (String t : List.of("model.embed_tokens.weight", "lm_head.weight")) {
                            if (t.equals("model.embed_tokens.weight") || !dequantised.config().tieWordEmbeddings()) {
                                NDArray dense = t.startsWith("lm") ? dequantised.lmHead().weight()
                                        : dequantised.embedTokens();
                                dequantised.replace(t, HalfWeight.of(dtype, dense, m).dense());
                            }
                        }
                    }
                    for (int i = 0; i < kept.linears().size(); i++) {
                        Linear k = kept.linears().get(i);
                        if (file == q8) {
                            assertInstanceOf(GgufBlockWeight.class, k.frozen(), k.name());
                        } else {
                            assertInstanceOf(HalfWeight.class, k.frozen(), k.name());
                            assertEquals(HalfWeight.Format.FP16, ((HalfWeight) k.frozen()).format(), k.name());
                        }
                        assertSameBits(dequantised.linears().get(i).weight().toFloatArray(), k.weight().toFloatArray(),
                                what + " " + k.name());
                    }
                    int vocab = kept.config().vocabSize();
                    long[] ids = {1, 5, vocab - 1, 17, 300 % vocab, 2, 9};
                    NDArray x = m.create(ids, new Shape(1, ids.length));
                    assertSameBits(dequantised.forward(x, null, null, false).toFloatArray(),
                            kept.forward(x, null, null, false).toFloatArray(), what + " logits");
                }
            }
        }
    }

    @Test
    void keepIsRefusedForACheckpointThatIsNotGguf() {
        Path stories = TestData.require("models/stories260K/stories260K.bin");
        BadInputException e = assertThrows(BadInputException.class,
                () -> Llama.load(Checkpoint.open(stories), FrozenStorage.keepingGguf(null)));
        assertTrue(e.getMessage().contains("quantize 'keep'") && e.getMessage().contains("LLAMA2C")
                && e.getMessage().contains(stories.toString()), e.getMessage());
    }
}
