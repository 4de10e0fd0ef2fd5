package org.llamawb.adapters;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.llamawb.model.Llama;

/**
 * Finds tokens whose output row (the LM head's, which is the embedding when tied) was never trained, so that
 * no hidden state can make them likely: a row equal to other rows (their logits always tie) or a row of
 * zeros. Pretraining that never shows a token (EOS in llama2.c's TinyStories runs, the chat markers of a base
 * model) leaves such rows: the softmax pushes every unseen row the same way, and weight decay draws them
 * together. stories260K holds 169 equal rows (unknown, EOS, the unused byte tokens), within 5e-4.
 */
public final class UntrainedTokens {
    /** Rows closer than this share of the row's largest value are taken as equal. */
    static final double SAME_ROW = 1e-3;
    /** A row whose norm is below this share of the median norm is taken as zero. */
    static final double ZERO_ROW = 1e-3;

    private UntrainedTokens() {}

    /**
     * What was found for one token.
     *
     * @param id the token id
     * @param equalRows how many other rows equal its row (0 when the row is zero instead)
     */
    public record Finding(int id, int equalRows) {
        public String describe(String piece) {
            return equalRows > 0
                    ? "the output row of '" + piece + "' (id " + id + ") equals those of " + equalRows + " other tokens"
                    : "the output row of '" + piece + "' (id " + id + ") is zero";
        }
    }

    /** The candidates whose output rows were never trained, in the candidates' order. */
    public static List<Finding> find(Llama model, Collection<Integer> candidates) {
        List<Finding> out = new ArrayList<>();
        try (NDScope scope = new NDScope()) {
            NDArray w = model.lmHead().weight(); // [V, d]
            long vocab = w.getShape().get(0);
            float[] norms = w.norm(new int[] {1}).toFloatArray(); // [V]
            float[] sorted = norms.clone();
            Arrays.sort(sorted);
            float median = sorted[sorted.length / 2];
            for (int id : candidates.stream().distinct().toList()) {
                if (id < 0 || id >= vocab) {
                    continue;
                }
                if (norms[id] < ZERO_ROW * median) {
                    out.add(new Finding(id, 0));
                    continue;
                }
                NDArray row = w.get(new NDIndex("{}", id)); // [d]
                float scale = row.abs().max().getFloat();
                float[] distance = w.sub(row).abs().max(new int[] {1}).toFloatArray(); // [V]
                int equal = 0;
                for (int k = 0; k < distance.length; k++) {
                    if (k != id && distance[k] <= SAME_ROW * scale) {
                        equal++;
                    }
                }
                if (equal > 0) {
                    out.add(new Finding(id, equal));
                }
            }
        }
        return out;
    }

    /**
     * PEFT's {@code trainable_token_indices} that make {@code ids} trainable where the model reads and writes
     * them: the embedding (which a tied LM head shares), and the LM head too when it is separate.
     */
    public static Map<String, List<Integer>> indices(Llama model, List<Integer> ids) {
        Map<String, List<Integer>> out = new LinkedHashMap<>();
        if (ids.isEmpty()) {
            return out;
        }
        out.put("embed_tokens", List.copyOf(ids));
        if (!model.config().tieWordEmbeddings()) {
            out.put("lm_head", List.copyOf(ids));
        }
        return out;
    }
}
