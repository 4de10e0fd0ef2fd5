package org.llamawb.adapters;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.util.LinkedHashMap;
import java.util.Map;
import org.llamawb.model.EmbeddingAdapter;
import org.llamawb.model.Linear;
import org.llamawb.model.LinearAdapter;

/**
 * PEFT's trainable tokens ({@code trainable_token_indices}) on one vocabulary matrix: the rows of the
 * chosen token ids take trained values, every other row stays frozen. On the embedding it changes what those
 * ids embed to; on the LM head (the embedding itself when tied) it changes those ids' logits.
 *
 * <p>Why it exists: a pretrained model whose EOS row was never trained cannot learn to stop through adapters
 * on the linear layers alone. stories260K's tied table holds 169 equal rows (unknown, EOS and the unused byte
 * tokens), so EOS always ties with 168 other tokens and its probability cannot pass 1/169, whatever the
 * hidden state. Training that one row (PEFT's cure, and Unsloth's reason for {@code fix_untrained_tokens})
 * separates it.
 *
 * <p>Computed as a correction beside the unchanged weight {@code W: [V, d]}, with {@code Δ = values − W[idx]}
 * {@code [k, d]}: embeddings add {@code onehot(ids ∈ idx) · Δ}, logits add {@code (x · Δᵀ) · S} with the
 * one-hot selection {@code S: [k, V]}; both equal PEFT's {@code W.index_copy(0, idx, values)} up to rounding.
 * Merging writes the values into the rows, as PEFT does.
 */
final class TrainableTokens implements EmbeddingAdapter, LinearAdapter {
    private final LoraModel owner;
    /** The module the rows belong to: {@code embed_tokens} or {@code lm_head}. */
    private final String module;
    final Map<String, Rows> adapters = new LinkedHashMap<>();

    /**
     * One adapter's rows.
     *
     * @param indices the token ids, int64 {@code [k]}
     * @param values the trained rows {@code [k, d]} (PEFT's {@code trainable_tokens_delta}: values, not differences)
     * @param original the base rows {@code [k, d]}, for the correction and for unmerging
     * @param select the one-hot selection {@code [k, V]}, float
     */
    record Rows(long[] ids, NDArray indices, NDArray values, NDArray original, NDArray select) {}

    TrainableTokens(LoraModel owner, String module) {
        this.owner = owner;
        this.module = module;
    }

    String module() {
        return module;
    }

    /** The PEFT key of the trained rows (without the adapter name). */
    String key() {
        return key(module);
    }

    /** PEFT's key of the trained rows of {@code module} ({@code embed_tokens} or {@code lm_head}). */
    static String key(String module) {
        return LoraModel.PEFT_PREFIX + (module.equals("embed_tokens") ? "model.embed_tokens" : "lm_head")
                + ".token_adapter.trainable_tokens_delta";
    }

    @Override
    public NDArray forward(NDArray ids, NDArray base) {
        for (Map.Entry<String, Rows> e : applied().entrySet()) {
            Rows r = e.getValue();
            NDArray hit = ids.expandDims(-1).eq(r.indices()).toType(DataType.FLOAT32, false); // [B, T, k]
            base = base.add(hit.matMul(r.values().sub(r.original()))); // [B, T, d]
        }
        return base;
    }

    @Override
    public boolean trainable() {
        return applied().values().stream().anyMatch(r -> r.values().hasGradient());
    }

    @Override
    public NDArray forward(Linear layer, NDArray x, NDArray out) {
        for (Rows r : applied().values()) {
            NDArray delta = r.values().sub(r.original()); // [k, d]
            NDArray picked = ai.djl.nn.core.Linear.linear(x, delta).singletonOrThrow(); // [..., k]
            out = out.add(picked.matMul(r.select())); // [..., V]
        }
        return out;
    }

    /** The adapters whose rows apply now (active, not merged, adapters enabled). */
    private Map<String, Rows> applied() {
        Map<String, Rows> out = new LinkedHashMap<>();
        if (owner.isDisabled()) {
            return out;
        }
        adapters.forEach((name, r) -> {
            if (owner.isActive(name) && !owner.isMerged(name)) {
                out.put(name, r);
            }
        });
        return out;
    }
}
