package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.llamawb.datasets.template.ChatTemplates;
import org.llamawb.datasets.tokenize.EncodeOptions;
import org.llamawb.datasets.tokenize.ExampleEncoder;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.LoadedModel;
import org.llamawb.model.generate.Generator;
import org.llamawb.model.generate.Sampling;
import org.llamawb.model.gguf.GgmlType;
import org.llamawb.model.gguf.GgufWeights;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * The real SmolLM2-135M-Instruct Q4_1 GGUF read by the workbench against transformers reading the same file
 * ({@code scripts/reference/smollm2_greedy.py}): its config (tied embeddings, rope theta 100000, 9 query and
 * 3 key/value heads), dequantised Q4_1/Q8_0 weights and the q/k un-permutation bit for bit, the prompt ids
 * its own chat template and byte-level BPE vocabulary ({@code tokenizer.ggml.pre = smollm}) give, and the
 * greedy answers, token for token.
 */
class SmolLm2TransformersParityTest {

    @Test
    void configAndWeightsEqualTransformersGgufLoader() {
        Path gguf = SmolLm2.gguf();
        JsonNode ref = SmolLm2.reference();
        try (GgufWeights w = GgufWeights.open(gguf)) {
            LlamaConfig c = w.config();
            JsonNode rc = ref.get("config");
            assertEquals(rc.get("vocab_size").asInt(), c.vocabSize());
            assertEquals(rc.get("hidden_size").asInt(), c.hiddenSize());
            assertEquals(rc.get("intermediate_size").asInt(), c.intermediateSize());
            assertEquals(rc.get("num_hidden_layers").asInt(), c.numHiddenLayers());
            assertEquals(rc.get("num_attention_heads").asInt(), c.numAttentionHeads());
            assertEquals(rc.get("num_key_value_heads").asInt(), c.numKeyValueHeads());
            assertEquals(rc.get("head_dim").asInt(), c.headDim());
            assertEquals(rc.get("rope_theta").asDouble(), c.ropeTheta());
            assertEquals((float) rc.get("rms_norm_eps").asDouble(), (float) c.rmsNormEps());
            assertEquals(rc.get("max_position_embeddings").asInt(), c.maxPositionEmbeddings());
            assertEquals(rc.get("tie_word_embeddings").asBoolean(), c.tieWordEmbeddings());
            assertEquals(rc.get("bos_token_id").asInt(), c.bosTokenId());
            assertEquals(java.util.List.of(rc.get("eos_token_id").asInt()), c.eosTokenIds());
            assertEquals(GgmlType.Q4_1, w.ggmlType("model.layers.0.self_attn.q_proj.weight"));
            assertEquals(GgmlType.Q8_0, w.ggmlType("model.embed_tokens.weight"));

            for (var t = ref.get("weights").fields(); t.hasNext(); ) {
                var e = t.next();
                String name = e.getKey();
                float[] ours = w.floats(name);
                int cols = (int) w.info(name).shape()[1];
                for (var r = e.getValue().fields(); r.hasNext(); ) {
                    var row = r.next();
                    int i = Integer.parseInt(row.getKey());
                    float[] want = new float[row.getValue().size()];
                    for (int j = 0; j < want.length; j++) {
                        want[j] = (float) row.getValue().get(j).asDouble();
                    }
                    assertArrayEquals(want, Arrays.copyOfRange(ours, i * cols, i * cols + want.length), 0f,
                            name + " row " + i);
                }
            }
        }
    }

    @Test
    void byteLevelVocabularyEncodesAsTransformers() {
        Path gguf = SmolLm2.gguf();
        try (LlamaTokenizer t = LlamaTokenizer.load(gguf)) {
            for (JsonNode c : SmolLm2.reference().get("tokenizer_cases")) {
                String text = c.get("text").asText();
                int[] want = SmolLm2.ints(c.get("ids"));
                assertArrayEquals(want, t.encode(text, false), text);
                assertEquals(text, t.decode(want), "decodes back: " + text);
            }
        }
    }

    @Test
    void greedyChatAnswersEqualTransformers() {
        Path gguf = SmolLm2.gguf();
        JsonNode ref = SmolLm2.reference();
        try (LoadedModel m = LoadedModel.open(gguf, null, "--tokenizer");
                ExampleEncoder enc = new ExampleEncoder(m.tokenizer(),
                        ChatTemplates.resolve(ChatTemplates.MODEL, m.tokenizer(), m.templateSource()),
                        EncodeOptions.of(1 << 12))) {
            assertEquals(SmolLm2.EOS, m.tokenizer().eosId());
            int endedAtEos = 0;
            for (JsonNode a : ref.get("answers")) {
                String what = a.get("messages").toString();
                int[] prompt = enc.promptIds(SmolLm2.messages(a.get("messages")));
                assertArrayEquals(SmolLm2.ints(a.get("prompt_ids")), prompt, "prompt ids of " + what);
                int[] want = SmolLm2.ints(a.get("generated_ids"));
                // no stop ids: the reference's EOS, where it has one, is among the tokens compared
                int[] got = new Generator(m.model()).generate(prompt, Sampling.greedy(want.length, Set.of()), t -> { });
                assertArrayEquals(want, got, what + ": transformers '" + a.get("text").asText() + "', ours '"
                        + m.tokenizer().decode(got) + "'");
                endedAtEos += want[want.length - 1] == SmolLm2.EOS ? 1 : 0;
            }
            assertTrue(endedAtEos >= 1, "at least one reference answer ends at EOS within the budget");
        }
    }
}
