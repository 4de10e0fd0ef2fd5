package org.llamawb.model.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.function.IntConsumer;
import org.llamawb.model.BadInputException;
import org.llamawb.model.KvCache;
import org.llamawb.model.Llama;

/**
 * Generation that keeps its KV cache between calls, for a chat: each prompt is compared with the tokens
 * whose keys and values are cached, the longest common prefix is kept and only the rest is fed. A prompt
 * that extends the previous prompt and reply (the next turn of a conversation) costs only its new tokens;
 * one that differs early (a new system message) is recomputed from where it differs. The result is the
 * same as a fresh generation from the whole prompt.
 */
public final class GenerationSession implements AutoCloseable {
    private final Llama model;
    private final NDManager manager;
    private KvCache cache;
    /** The ids whose keys and values are in the cache, in order; the first {@code cachedLength} are valid. */
    private int[] cached = new int[16];
    private int cachedLength;
    private int lastPrefilled;

    /** A session whose cache first holds {@code capacity} positions; it grows when a prompt needs more. */
    public GenerationSession(Llama model, int capacity) {
        this.model = model;
        this.manager = model.manager().newSubManager();
        this.cache = model.newCache(1, Math.max(1, capacity));
    }

    /**
     * Generates after {@code prompt}; each new token is handed to {@code onToken} as soon as it is chosen
     * (stop tokens are not). Returns the new tokens.
     */
    public int[] generate(int[] prompt, Sampling sampling, IntConsumer onToken) {
        if (prompt.length == 0) {
            throw new BadInputException("the prompt is empty: generation needs at least one token (e.g. BOS)");
        }
        int needed = prompt.length + sampling.maxNewTokens();
        int keep = Math.min(commonPrefix(prompt), prompt.length - 1); // at least one token is fed for the logits
        if (needed > cache.capacity()) {
            // RoPE extends past max_position_embeddings; the model may degrade there, but may run.
            int grown = 2 * Math.max(needed, cache.capacity());
            cache.close();
            cache = model.newCache(1, grown);
            keep = 0;
        }
        cache.truncate(keep);
        cachedLength = keep;
        lastPrefilled = prompt.length - keep;
        float[] logits = feed(Arrays.copyOfRange(prompt, keep, prompt.length));
        Sampler sampler = new Sampler(sampling);
        int[] out = new int[sampling.maxNewTokens()];
        int n = 0;
        for (int step = 0; step < sampling.maxNewTokens(); step++) {
            int next = sampler.next(logits);
            if (sampling.stopIds().contains(next)) {
                break;
            }
            out[n++] = next;
            onToken.accept(next);
            if (step + 1 == sampling.maxNewTokens()) {
                break;
            }
            logits = feed(new int[] {next});
        }
        return Arrays.copyOf(out, n);
    }

    /** Runs {@code ids} after the cached positions, records them as cached; the last position's logits. */
    private float[] feed(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        float[] logits;
        try (NDScope scope = new NDScope()) {
            NDArray out = model.decode(manager.create(l, new Shape(1, l.length)), cache); // [1, V]
            logits = out.toFloatArray();
        }
        if (cachedLength + ids.length > cached.length) {
            cached = Arrays.copyOf(cached, Math.max(2 * cached.length, cachedLength + ids.length));
        }
        System.arraycopy(ids, 0, cached, cachedLength, ids.length);
        cachedLength += ids.length;
        return logits;
    }

    private int commonPrefix(int[] prompt) {
        int n = Math.min(prompt.length, cachedLength);
        int i = 0;
        while (i < n && prompt[i] == cached[i]) {
            i++;
        }
        return i;
    }

    /** How many prompt tokens the last call fed (the rest came from the cache). */
    public int lastPrefilled() {
        return lastPrefilled;
    }

    /** How many positions the cache holds now (the last prompt and the reply tokens fed after it). */
    public int cachedLength() {
        return cachedLength;
    }

    /** Forgets the cache (the buffers are kept). */
    public void reset() {
        cache.reset();
        cachedLength = 0;
    }

    @Override
    public void close() {
        cache.close();
        manager.close();
    }
}
