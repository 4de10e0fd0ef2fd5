package org.llamawb.model.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.TestData;

/**
 * {@link GgufWeights} on the real tiny Llama-2 GGUF against transformers' own GGUF loader (fixture from
 * {@code scripts/reference/gguf_hf_tensors.py}): same names, shapes, config and values, bit for bit,
 * which checks the name map and the q/k un-permutation against an independent implementation.
 */
class GgufTransformersParityTest {

    private static float[] floats(JsonNode a) {
        double[] d = StreamSupport.stream(a.spliterator(), false).mapToDouble(JsonNode::asDouble).toArray();
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    @Test
    void tensorsEqualTransformersGgufLoader() throws IOException {
        JsonNode ref;
        try (InputStream in = getClass().getResourceAsStream("/fixtures/gguf/tiny_llama_hf_tensors.json")) {
            ref = new ObjectMapper().readTree(in);
        }
        try (GgufWeights w = GgufWeights.open(TestData.require(
                "models/llama2-tiny-random-gguf/llama-2-tiny-random.gguf"))) {
            LlamaConfig c = w.config();
            JsonNode rc = ref.get("config");
            assertEquals(rc.get("vocab_size").asInt(), c.vocabSize());
            assertEquals(rc.get("hidden_size").asInt(), c.hiddenSize());
            assertEquals(rc.get("intermediate_size").asInt(), c.intermediateSize());
            assertEquals(rc.get("num_hidden_layers").asInt(), c.numHiddenLayers());
            assertEquals(rc.get("num_attention_heads").asInt(), c.numAttentionHeads());
            assertEquals(rc.get("num_key_value_heads").asInt(), c.numKeyValueHeads());
            assertEquals(rc.get("head_dim").asInt(), c.headDim());
            assertEquals(rc.get("max_position_embeddings").asInt(), c.maxPositionEmbeddings());
            assertEquals(rc.get("tie_word_embeddings").asBoolean(), c.tieWordEmbeddings());

            JsonNode tensors = ref.get("tensors");
            assertEquals(tensors.size(), w.names().size());
            for (var it = tensors.fields(); it.hasNext(); ) {
                var e = it.next();
                String name = e.getKey();
                long[] shape = StreamSupport.stream(e.getValue().get("shape").spliterator(), false)
                        .mapToLong(JsonNode::asLong).toArray();
                assertArrayEquals(shape, w.info(name).shape(), name);
                float[] ours = w.floats(name);
                if (e.getValue().has("values")) {
                    assertArrayEquals(floats(e.getValue().get("values")), ours, 0f, name);
                } else {
                    int cols = (int) shape[1];
                    for (var r = e.getValue().get("rows").fields(); r.hasNext(); ) {
                        var row = r.next();
                        int i = Integer.parseInt(row.getKey());
                        assertArrayEquals(floats(row.getValue()), Arrays.copyOfRange(ours, i * cols, (i + 1) * cols),
                                0f, name + " row " + i);
                    }
                }
            }
        }
    }
}
