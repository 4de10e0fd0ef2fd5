package org.llamawb.model.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.llamawb.model.weights.Fixtures.assertBad;

import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.LlamaConfig;

/** Sharded checkpoints against transformers' save_pretrained output (tiny-llama-sharded fixture). */
class ShardedSafetensorsTest {
    @TempDir
    Path tmp;

    private static final String[] FILES = {
        "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors",
        ShardedSafetensors.INDEX_FILE};

    @Test
    void readsTransformersShardsAndValidatesAgainstItsConfig() {
        Path dir = Fixtures.path("tiny-llama-sharded");
        LlamaConfig config = LlamaConfig.read(dir);
        try (ShardedSafetensors st = ShardedSafetensors.open(dir.resolve(ShardedSafetensors.INDEX_FILE));
                NDManager m = NDManager.newBaseManager()) {
            assertEquals(3, st.shardFiles().size());
            assertEquals(LlamaLayout.expected(config).keySet(), st.names());
            LlamaLayout.validate(st, config);
            assertArrayEquals(new long[] {4, 8}, st.info("model.layers.1.self_attn.k_proj.weight").shape());
            // RMSNorm weights are initialised to ones by transformers
            assertArrayEquals(new float[] {1, 1, 1, 1, 1, 1, 1, 1}, st.load("model.norm.weight", m).toFloatArray());
        }
    }

    @Test
    void rewritesTheSameShardsAndIndexAsTransformers() throws Exception {
        Path dir = Fixtures.path("tiny-llama-sharded");
        LlamaConfig config = LlamaConfig.read(dir);
        try (ShardedSafetensors st = ShardedSafetensors.open(dir.resolve(ShardedSafetensors.INDEX_FILE))) {
            SafetensorsWriter w = new SafetensorsWriter(StorageType.F32).maxShardBytes(3000);
            for (String name : LlamaLayout.expected(config).keySet()) { // transformers' state_dict order
                w.add(name, st);
            }
            List<Path> written = w.writeDirectory(tmp);
            assertEquals(Stream.of(FILES).map(tmp::resolve).toList(), written);
        }
        for (String f : FILES) {
            assertArrayEquals(Files.readAllBytes(dir.resolve(f)), Files.readAllBytes(tmp.resolve(f)), f);
        }
    }

    @Test
    void shardedRoundTripThroughCheckpointAndStaleShardsRemoved() throws Exception {
        Path src = Fixtures.path("tiny-llama-sharded");
        try (Checkpoint c = Checkpoint.open(src); NDManager m = NDManager.newBaseManager()) {
            Checkpoint.writeHuggingFace(tmp, c.config(), c.weights(), StorageType.F32, 1000);
            long shards;
            try (Stream<Path> s = Files.list(tmp)) {
                shards = s.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors")).count();
            }
            assertTrue(shards > 3, "expected more, smaller shards, got " + shards);
            try (Checkpoint back = Checkpoint.open(tmp)) {
                assertEquals(c.config(), back.config());
                for (String name : c.weights().names()) {
                    assertArrayEquals(c.weights().load(name, m).toFloatArray(), back.weights().load(name, m).toFloatArray(),
                            name);
                }
            }
            // rewriting unsharded replaces the shards and the index
            Checkpoint.writeHuggingFace(tmp, c.config(), c.weights(), StorageType.BF16, SafetensorsWriter.DEFAULT_MAX_SHARD_BYTES);
            try (Stream<Path> s = Files.list(tmp)) {
                assertEquals(List.of("config.json", "model.safetensors"),
                        s.map(p -> p.getFileName().toString()).sorted().toList());
            }
            try (Checkpoint back = Checkpoint.open(tmp)) {
                assertEquals(StorageType.BF16, back.weights().info(LlamaLayout.EMBED).dtype());
                float[] want = c.weights().load(LlamaLayout.EMBED, m).toFloatArray();
                float[] got = back.weights().load(LlamaLayout.EMBED, m).toFloatArray();
                for (int i = 0; i < want.length; i++) {
                    assertEquals(SafetensorsWriter.toBfloat16(want[i]) << 16, Float.floatToRawIntBits(got[i]));
                }
            }
        }
    }

    @Test
    void missingShardAndMisplacedTensorAreNamed() throws Exception {
        Path src = Fixtures.path("tiny-llama-sharded");
        for (String f : FILES) {
            Files.copy(src.resolve(f), tmp.resolve(f));
        }
        Path index = tmp.resolve(ShardedSafetensors.INDEX_FILE);
        String text = Files.readString(index);

        // the index sends model.norm.weight to a shard that lacks it
        Files.writeString(index, text.replace("\"model.norm.weight\": \"model-00002-of-00003.safetensors\"",
                "\"model.norm.weight\": \"model-00001-of-00003.safetensors\""));
        assertFalse(Files.readString(index).equals(text), "fixture layout changed");
        assertBad(() -> ShardedSafetensors.open(index), "model.safetensors.index.json",
                "'model.norm.weight'", "model-00001-of-00003.safetensors", "has no such tensor");

        Files.writeString(index, text);
        Files.delete(tmp.resolve("model-00002-of-00003.safetensors"));
        assertBad(() -> ShardedSafetensors.open(index), "shard 'model-00002-of-00003.safetensors'", "does not exist");

        Files.writeString(index, "{\"metadata\": {}}");
        assertBad(() -> ShardedSafetensors.open(index), "weight_map");
        Files.writeString(index, "{\"weight_map\": {\"x\": \"../elsewhere.safetensors\"}}");
        assertBad(() -> ShardedSafetensors.open(index), "not a file beside the index");
    }
}
