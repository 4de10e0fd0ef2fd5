package org.llamawb.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.llamawb.model.generate.GenerationDefaults;
import org.llamawb.model.generate.Generator;
import org.llamawb.model.generate.Sampling;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.StorageType;

/**
 * The real pretrained stories260K prints, byte for byte, what llama2.c's run.c prints greedily
 * ({@code run stories260K.bin -z tok512.bin -t 0.0 [-n 200]}): run.c forwards N positions from the BOS prompt and
 * prints the token sampled at each, so N new tokens; generation
 * stops at BOS, and decoding strips the space after BOS.
 */
class RuncExactOutputTest {
    @TempDir
    static Path tmp;

    static String generate(Checkpoint c, LlamaTokenizer tok, int positions) {
        return generate(c, tok, positions, false);
    }

    /** @param fused with q/k/v and gate/up stacked ({@link Llama#fuseFrozenProjections}) */
    static String generate(Checkpoint c, LlamaTokenizer tok, int positions, boolean fused) {
        try (NDManager m = NDManager.newBaseManager(); Llama model = Llama.load(c, m)) {
            model.fuseFrozenProjections(fused);
            GenerationDefaults g = GenerationDefaults.of(c);
            int[] out = new Generator(model).generate(new int[] {tok.bosId()}, Sampling.greedy(positions, g.stopIds()), id -> { });
            return tok.decode(out);
        }
    }

    @ParameterizedTest(name = "{0} {1} positions")
    @CsvSource({"stories260K.bin,200", "stories260K.bin,256", "stories260K.v1.bin,200", "stories260K.v1.bin,256",
            "hf,200", "hf,256"})
    void greedyOutputEqualsRunC(String model, int positions) throws Exception {
        Path dir = TestData.require("models/stories260K");
        String expected = Files.readString(dir.resolve("runc-greedy-" + positions + ".txt"), StandardCharsets.UTF_8);
        Path modelPath = dir.resolve(model);
        if (model.equals("hf")) {
            modelPath = tmp.resolve("stories260K-hf");
            if (!Files.exists(modelPath)) {
                try (Checkpoint c = Checkpoint.open(dir.resolve("stories260K.bin"));
                        LlamaTokenizer tok = LlamaTokenizer.forCheckpoint(c, null)) {
                    ModelDirectory.write(modelPath, c.config(), c.weights(), tok, GenerationDefaults.of(c), StorageType.F32,
                            ModelDirectory.DEFAULT_SHARD_BYTES);
                }
            }
        }
        try (Checkpoint c = Checkpoint.open(modelPath); LlamaTokenizer tok = LlamaTokenizer.forCheckpoint(c, null)) {
            assertEquals(expected, generate(c, tok, positions));
        }
        if (model.startsWith("stories260K.bin")) {
            try (Checkpoint c = Checkpoint.open(modelPath); LlamaTokenizer tok = LlamaTokenizer.forCheckpoint(c, null)) {
                assertEquals(expected, generate(c, tok, positions, true), "with stacked projections");
            }
        }
    }
}
