package org.llamawb.model.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.NDScope;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;
import org.llamawb.model.BadInputException;
import org.llamawb.model.KvCache;
import org.llamawb.model.Llama;

/** Autoregressive generation of one sequence with the KV cache: prefill the prompt, then one token per step. */
public final class Generator {
    private final Llama model;

    public Generator(Llama model) {
        this.model = model;
    }

    /**
     * Generates after {@code prompt}; each new token is handed to {@code onToken} as soon as it is
     * chosen (stop tokens are not). Returns the new tokens.
     */
    public int[] generate(int[] prompt, Sampling sampling, IntConsumer onToken) {
        if (prompt.length == 0) {
            throw new BadInputException("the prompt is empty: generation needs at least one token (e.g. BOS)");
        }
        int capacity = prompt.length + sampling.maxNewTokens();
        int maxPositions = model.config().maxPositionEmbeddings();
        if (capacity > maxPositions) {
            capacity = Math.max(capacity, maxPositions); // RoPE extends; the model may degrade past its training length
        }
        Sampler sampler = new Sampler(sampling);
        List<Integer> out = new ArrayList<>();
        try (NDManager m = model.manager().newSubManager(); KvCache cache = model.newCache(1, capacity)) {
            long[] ids = new long[prompt.length];
            for (int i = 0; i < prompt.length; i++) {
                ids[i] = prompt[i];
            }
            float[] logits;
            try (NDScope scope = new NDScope()) {
                NDArray l = model.decode(m.create(ids, new Shape(1, ids.length)), cache);
                logits = l.toFloatArray();
            }
            for (int step = 0; step < sampling.maxNewTokens(); step++) {
                int next = sampler.next(logits);
                if (sampling.stopIds().contains(next)) {
                    break;
                }
                out.add(next);
                onToken.accept(next);
                if (step + 1 == sampling.maxNewTokens()) {
                    break;
                }
                try (NDScope scope = new NDScope()) {
                    NDArray l = model.decode(m.create(new long[] {next}, new Shape(1, 1)), cache);
                    logits = l.toFloatArray();
                }
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }
}
