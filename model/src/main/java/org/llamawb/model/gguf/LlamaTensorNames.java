package org.llamawb.model.gguf;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place where llama.cpp tensor names meet Hugging Face names, in both directions.
 *
 * <p>{@code token_embd} ↔ {@code model.embed_tokens}, {@code output_norm} ↔ {@code model.norm},
 * {@code output} ↔ {@code lm_head}, and per layer {@code blk.N.attn_norm} ↔
 * {@code model.layers.N.input_layernorm}, {@code attn_q/k/v/output} ↔ {@code self_attn.q/k/v/o_proj},
 * {@code ffn_norm} ↔ {@code post_attention_layernorm}, {@code ffn_gate/up/down} ↔
 * {@code mlp.gate/up/down_proj}; each with its {@code .weight} or {@code .bias} suffix.
 */
public final class LlamaTensorNames {
    private static final Map<String, String> GLOBAL = Map.of(
            "token_embd", "model.embed_tokens",
            "output_norm", "model.norm",
            "output", "lm_head");
    private static final List<String[]> LAYER = List.of(
            new String[] {"attn_norm", "input_layernorm"},
            new String[] {"attn_q", "self_attn.q_proj"},
            new String[] {"attn_k", "self_attn.k_proj"},
            new String[] {"attn_v", "self_attn.v_proj"},
            new String[] {"attn_output", "self_attn.o_proj"},
            new String[] {"ffn_norm", "post_attention_layernorm"},
            new String[] {"ffn_gate", "mlp.gate_proj"},
            new String[] {"ffn_up", "mlp.up_proj"},
            new String[] {"ffn_down", "mlp.down_proj"});
    private static final Pattern GGUF_LAYER = Pattern.compile("blk\\.(\\d+)\\.([a-z_]+)\\.(weight|bias)");
    private static final Pattern GGUF_GLOBAL = Pattern.compile("([a-z_]+)\\.(weight|bias)");
    private static final Pattern HF_LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.([a-z_.]+)\\.(weight|bias)");
    private static final Pattern HF_GLOBAL = Pattern.compile("([a-z_.]+)\\.(weight|bias)");

    private LlamaTensorNames() {}

    /** The Hugging Face name of a llama.cpp tensor, empty when it is not a LLaMA tensor we know. */
    public static Optional<String> toHf(String gguf) {
        Matcher m = GGUF_LAYER.matcher(gguf);
        if (m.matches()) {
            for (String[] p : LAYER) {
                if (p[0].equals(m.group(2))) {
                    return Optional.of("model.layers." + m.group(1) + "." + p[1] + "." + m.group(3));
                }
            }
            return Optional.empty();
        }
        m = GGUF_GLOBAL.matcher(gguf);
        if (m.matches() && GLOBAL.containsKey(m.group(1))) {
            return Optional.of(GLOBAL.get(m.group(1)) + "." + m.group(2));
        }
        return Optional.empty();
    }

    /** The llama.cpp name of a Hugging Face tensor, empty when it is not a LLaMA tensor we know. */
    public static Optional<String> toGguf(String hf) {
        Matcher m = HF_LAYER.matcher(hf);
        if (m.matches()) {
            for (String[] p : LAYER) {
                if (p[1].equals(m.group(2))) {
                    return Optional.of("blk." + m.group(1) + "." + p[0] + "." + m.group(3));
                }
            }
            return Optional.empty();
        }
        m = HF_GLOBAL.matcher(hf);
        if (m.matches()) {
            for (var e : GLOBAL.entrySet()) {
                if (e.getValue().equals(m.group(1))) {
                    return Optional.of(e.getKey() + "." + m.group(2));
                }
            }
        }
        return Optional.empty();
    }

    /** Whether the rows of this (Hugging Face) tensor are permuted by llama.cpp: q and k projections. */
    static boolean isQuery(String hf) {
        return hf.contains(".self_attn.q_proj.");
    }

    static boolean isKey(String hf) {
        return hf.contains(".self_attn.k_proj.");
    }
}
