package org.llamawb.model.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.llamawb.model.weights.Fixtures.assertBad;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Random;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.TestData;

/** Recognising checkpoints on disk and writing Hugging Face ones. */
class CheckpointTest {
    @TempDir
    Path tmp;

    /**
     * Conversions left in target/ for scripts/reference/check_weights_interop.py, which loads them with
     * transformers.
     */
    private static final Path INTEROP = Path.of("target", "weights-interop");

    @Test
    void opensAHuggingFaceDirectoryOrAFileInIt() {
        Path dir = Fixtures.path("tiny-llama-sharded");
        for (Path p : new Path[] {dir, dir.resolve("config.json"), dir.resolve(ShardedSafetensors.INDEX_FILE)}) {
            try (Checkpoint c = Checkpoint.open(p)) {
                assertEquals(Checkpoint.Format.HUGGING_FACE, c.format());
                assertEquals(dir, c.directory());
                assertEquals(p, c.location());
                assertEquals(32, c.config().vocabSize());
                assertTrue(c.weights().contains("lm_head.weight"));
            }
        }
    }

    @Test
    void opensLlama2cBesideItsTokenizer() {
        Path bin = TestData.require("models/stories260K/stories260K.v1.bin");
        try (Checkpoint c = Checkpoint.open(bin)) {
            assertEquals(Checkpoint.Format.LLAMA2C, c.format());
            assertTrue(Files.isRegularFile(c.directory().resolve("tok512.bin")));
            assertEquals(64, c.config().hiddenSize());
            assertTrue(c.config().tieWordEmbeddings());
        }
    }

    @Test
    void opensGgufFilesUnderHuggingFaceNames() {
        Path gguf = TestData.require("models/llama2-tiny-random-gguf/llama-2-tiny-random.gguf");
        try (Checkpoint c = Checkpoint.open(gguf)) {
            assertEquals(Checkpoint.Format.GGUF, c.format());
            assertEquals(32000, c.config().vocabSize());
            assertTrue(c.weights().names().contains("model.layers.0.self_attn.q_proj.weight"));
        }
    }

    @Test
    void otherFilesGetOneLineSayingWhatWasExpected() throws Exception {
        Path txt = Files.writeString(tmp.resolve("notes.txt"), "hello");
        assertBad(() -> Checkpoint.open(txt), "notes.txt", "unrecognised model file (expected a Hugging Face model directory");
        Path zip = Files.write(tmp.resolve("model.pt"), new byte[] {'P', 'K', 3, 4, 0, 0});
        assertBad(() -> Checkpoint.open(zip), "model.pt", "PyTorch pickle/zip checkpoint is not supported");
        assertBad(() -> Checkpoint.open(tmp.resolve("absent")), "absent: not found");
        Path empty = Files.createDirectory(tmp.resolve("empty"));
        assertBad(() -> Checkpoint.open(empty), "empty: no config.json");
        Files.copy(Fixtures.path("tiny-llama-sharded/config.json"), empty.resolve("config.json"));
        assertBad(() -> Checkpoint.open(empty), "no model.safetensors or model.safetensors.index.json");
        Files.write(empty.resolve("pytorch_model.bin"), new byte[] {'P', 'K'});
        assertBad(() -> Checkpoint.open(empty), "pytorch_model.bin, which is not supported");
        Path lone = Files.write(tmp.resolve("lone.safetensors"), new byte[8]);
        assertBad(() -> Checkpoint.open(lone), "lone.safetensors: no config.json beside it");
    }

    @Test
    void aConfigThatDisagreesWithTheWeightsIsReported() throws Exception {
        Path src = Fixtures.path("tiny-llama-sharded");
        try (Stream<Path> files = Files.list(src)) {
            for (Path f : files.toList()) {
                Files.copy(f, tmp.resolve(f.getFileName()));
            }
        }
        Path config = tmp.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"intermediate_size\": 16", "\"intermediate_size\": 20"));
        assertBad(() -> Checkpoint.open(tmp), "model.safetensors.index.json: tensor model.layers.0.mlp.gate_proj.weight: "
                + "expected shape [20, 8] but found [16, 8]");
    }

    @Test
    void llama2cConvertsToAHuggingFaceCheckpointWithIdenticalTensors() throws Exception {
        Path bin = TestData.require("models/stories260K/stories260K.bin");
        Path f32 = INTEROP.resolve("stories260k-f32");
        Path bf16 = INTEROP.resolve("stories260k-bf16-sharded");
        try (Checkpoint src = Checkpoint.open(bin); NDManager m = NDManager.newBaseManager()) {
            Checkpoint.writeHuggingFace(f32, src.config(), src.weights(), StorageType.F32, SafetensorsWriter.DEFAULT_MAX_SHARD_BYTES);
            Checkpoint.writeHuggingFace(bf16, src.config(), src.weights(), StorageType.BF16, 200_000);
            try (Checkpoint hf = Checkpoint.open(f32); Checkpoint sharded = Checkpoint.open(bf16)) {
                assertEquals(src.config(), hf.config());
                assertEquals(src.config(), sharded.config());
                assertFalse(hf.weights().contains("lm_head.weight")); // tied: written as transformers does
                assertTrue(Files.isRegularFile(bf16.resolve(ShardedSafetensors.INDEX_FILE)));
                for (String name : src.weights().names()) {
                    float[] want = src.weights().load(name, m).toFloatArray();
                    assertArrayEquals(want, hf.weights().load(name, m).toFloatArray(), name);
                    float[] half = sharded.weights().load(name, m).toFloatArray();
                    for (int i = 0; i < want.length; i++) {
                        assertEquals(SafetensorsWriter.toBfloat16(want[i]) << 16, Float.floatToRawIntBits(half[i]), name);
                    }
                }
            }
        }
    }

    @Test
    void saveOrderIsTransformersDotNaturalKey() {
        // sorted(names, key=transformers.core_model_loading.dot_natural_key) in Python
        List<String> python = List.of("a", "a.007", "a.9", "a.10", "a.9x", "a.b", "a.b.c", "a.b2", "a.b10", "h10o.x",
                "h2o.x", "lm_head.weight", "model.embed_tokens.weight", "model.layers.2.mlp.up_proj.weight",
                "model.layers.10.mlp.up_proj.weight", "model.norm.weight");
        List<String> shuffled = new ArrayList<>(python);
        Collections.shuffle(shuffled, new Random(5));
        shuffled.sort(Checkpoint.SAVE_ORDER);
        assertEquals(python, shuffled);
    }

    @Test
    void writesFromArraysInMemoryAndChecksThemFirst() throws Exception {
        Path src = Fixtures.path("tiny-llama-sharded");
        try (Checkpoint c = Checkpoint.open(src); NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (String name : c.weights().names()) {
                tensors.put(name, c.weights().load(name, m));
            }
            Path out = tmp.resolve("out");
            Checkpoint.writeHuggingFace(out, c.config(), tensors, StorageType.F16, SafetensorsWriter.DEFAULT_MAX_SHARD_BYTES);
            try (Checkpoint back = Checkpoint.open(out)) {
                assertEquals(c.config(), back.config());
                assertEquals(StorageType.F16, back.weights().info(LlamaLayout.NORM).dtype());
                float[] want = tensors.get(LlamaLayout.EMBED).toFloatArray();
                float[] got = back.weights().load(LlamaLayout.EMBED, m).toFloatArray();
                assertArrayEquals(want, got, 1e-3f);
            }
            tensors.remove("model.layers.1.mlp.down_proj.weight");
            LlamaConfig config = c.config();
            assertBad(() -> Checkpoint.writeHuggingFace(tmp.resolve("bad"), config, tensors, StorageType.F32, 1000),
                    "missing tensor 'model.layers.1.mlp.down_proj.weight'");
            assertFalse(Files.exists(tmp.resolve("bad").resolve("config.json")));
        }
    }
}
