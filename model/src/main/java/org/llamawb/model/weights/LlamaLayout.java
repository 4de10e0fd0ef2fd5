package org.llamawb.model.weights;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.llamawb.model.BadInputException;
import org.llamawb.model.LlamaConfig;

/**
 * The tensors a Hugging Face {@code LlamaForCausalLM} checkpoint holds for a {@link LlamaConfig}: names,
 * shapes ({@code [out, in]} for linear layers) and the order of transformers' {@code state_dict}.
 *
 * <pre>
 * model.embed_tokens.weight                          [V, d]
 * model.layers.{i}.self_attn.q_proj.weight           [H*hd, d]      (+ .bias [H*hd] when attention_bias)
 * model.layers.{i}.self_attn.k_proj.weight           [Hkv*hd, d]    (+ .bias)
 * model.layers.{i}.self_attn.v_proj.weight           [Hkv*hd, d]    (+ .bias)
 * model.layers.{i}.self_attn.o_proj.weight           [d, H*hd]      (+ .bias [d])
 * model.layers.{i}.mlp.gate_proj.weight              [I, d]         (+ .bias when mlp_bias)
 * model.layers.{i}.mlp.up_proj.weight                [I, d]         (+ .bias)
 * model.layers.{i}.mlp.down_proj.weight              [d, I]         (+ .bias [d])
 * model.layers.{i}.input_layernorm.weight            [d]
 * model.layers.{i}.post_attention_layernorm.weight   [d]
 * model.norm.weight                                  [d]
 * lm_head.weight                                     [V, d]         (absent when tie_word_embeddings; accepted)
 * </pre>
 */
public final class LlamaLayout {
    public static final String EMBED = "model.embed_tokens.weight";
    public static final String NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";

    private LlamaLayout() {}

    /** {@code model.layers.{i}.} */
    public static String layer(int i) {
        return "model.layers." + i + ".";
    }

    /** Every expected tensor with its shape, in transformers' state_dict order. */
    public static Map<String, long[]> expected(LlamaConfig c) {
        long d = c.hiddenSize();
        long q = (long) c.numAttentionHeads() * c.headDim();
        long kv = (long) c.numKeyValueHeads() * c.headDim();
        long ffn = c.intermediateSize();
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put(EMBED, new long[] {c.vocabSize(), d});
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = layer(i);
            linear(m, p + "self_attn.q_proj", q, d, c.attentionBias());
            linear(m, p + "self_attn.k_proj", kv, d, c.attentionBias());
            linear(m, p + "self_attn.v_proj", kv, d, c.attentionBias());
            linear(m, p + "self_attn.o_proj", d, q, c.attentionBias());
            linear(m, p + "mlp.gate_proj", ffn, d, c.mlpBias());
            linear(m, p + "mlp.up_proj", ffn, d, c.mlpBias());
            linear(m, p + "mlp.down_proj", d, ffn, c.mlpBias());
            m.put(p + "input_layernorm.weight", new long[] {d});
            m.put(p + "post_attention_layernorm.weight", new long[] {d});
        }
        m.put(NORM, new long[] {d});
        if (!c.tieWordEmbeddings()) {
            m.put(LM_HEAD, new long[] {c.vocabSize(), d});
        }
        return m;
    }

    private static void linear(Map<String, long[]> m, String name, long out, long in, boolean bias) {
        m.put(name + ".weight", new long[] {out, in});
        if (bias) {
            m.put(name + ".bias", new long[] {out});
        }
    }

    /**
     * The first problem of a set of tensor shapes against the config, as one line: a missing tensor, a
     * wrong shape (both in state_dict order), else an unexpected tensor; empty when they match. A tied
     * checkpoint may still hold {@code lm_head.weight}; rotary {@code inv_freq} buffers that old
     * transformers versions saved are ignored, as transformers ignores them.
     */
    public static Optional<String> problem(Map<String, long[]> found, LlamaConfig c) {
        Map<String, long[]> expected = expected(c);
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            long[] shape = found.get(e.getKey());
            if (shape == null) {
                return Optional.of("missing tensor '" + e.getKey() + "' (expected shape " + Arrays.toString(e.getValue()) + ")");
            }
            if (!Arrays.equals(shape, e.getValue())) {
                return Optional.of(mismatch(e.getKey(), e.getValue(), shape));
            }
        }
        for (Map.Entry<String, long[]> e : new TreeMap<>(found).entrySet()) {
            String name = e.getKey();
            if (expected.containsKey(name) || name.endsWith(".rotary_emb.inv_freq")) {
                continue;
            }
            if (name.equals(LM_HEAD) && c.tieWordEmbeddings()) {
                long[] want = {c.vocabSize(), c.hiddenSize()};
                if (!Arrays.equals(e.getValue(), want)) {
                    return Optional.of(mismatch(name, want, e.getValue()));
                }
                continue;
            }
            return Optional.of("unexpected tensor '" + name + "' (not part of a LLaMA model with this config)");
        }
        return Optional.empty();
    }

    private static String mismatch(String name, long[] want, long[] got) {
        return "tensor " + name + ": expected shape " + Arrays.toString(want) + " but found " + Arrays.toString(got);
    }

    /** Checks {@code source} against the config; a {@link BadInputException} with the first problem otherwise. */
    public static void validate(WeightSource source, LlamaConfig c) {
        Map<String, long[]> found = new LinkedHashMap<>();
        for (String name : source.names()) {
            found.put(name, source.info(name).shape());
        }
        problem(found, c).ifPresent(p -> {
            throw new BadInputException(source.description() + ": " + p);
        });
    }
}
