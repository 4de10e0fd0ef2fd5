package org.llamawb.model.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.llamawb.model.BadInputException;
import org.llamawb.model.KvCache;
import org.llamawb.model.Llama;

/**
 * Generation for a batch of prompts at once with one KV cache (rollouts for PPO and GRPO). Prompts are
 * left-padded to a common length so every row's next token sits in the same column; each row has its own
 * positions (counted from its first real token) and never attends to padding. A row stops at a stop token, at a
 * stop string in its decoded text, or after {@code maxNewTokens}; the batch runs until every row has stopped.
 *
 * <p>Row {@code i} samples from its own random stream derived from {@code sampling.seed()} and {@code i}, so a
 * batch is reproducible. Greedy rows equal {@link Generator}'s output for the same prompt.
 */
public final class BatchedGenerator {
    private final Llama model;

    public BatchedGenerator(Llama model) {
        this.model = model;
    }

    /** Why a row stopped. */
    public enum Finish {
        /** it produced one of the stop ids */
        STOP_TOKEN,
        /** its text came to contain a stop string */
        STOP_STRING,
        /** it reached {@code maxNewTokens} (TRL counts these in {@code completions/clipped_ratio}) */
        LENGTH
    }

    /**
     * One row's result.
     *
     * @param tokens the generated ids, including the stop token or the token that completed a stop string (the
     *        policy must learn to produce them)
     * @param text the decoded text before any stop string (null without a decoder)
     * @param finish why it stopped
     * @param logprobs per generated token, its log-probability under the temperature-scaled softmax of the logits it
     *        was drawn from ({@link Sampler#lastLogprob}): what PPO reads as the rollout policy's log-probabilities
     *        instead of a pass over the rows; null when greedy
     */
    public record Completion(int[] tokens, String text, Finish finish, float[] logprobs) {
        /** A completion without log-probabilities. */
        public Completion(int[] tokens, String text, Finish finish) {
            this(tokens, text, finish, null);
        }
    }

    /**
     * Generates after each prompt.
     *
     * @param prompts token ids, each non-empty
     * @param padId the id written into padding (never attended to)
     * @param stopStrings texts that end a row once its decoded completion contains them; empty for none
     * @param decoder token ids to text; required when there are stop strings, else may be null
     */
    public List<Completion> generate(List<int[]> prompts, Sampling sampling, int padId, List<String> stopStrings,
            Function<int[], String> decoder) {
        if (prompts.isEmpty()) {
            throw new IllegalArgumentException("no prompts to generate from");
        }
        if (!stopStrings.isEmpty() && decoder == null) {
            throw new IllegalArgumentException("stop strings need a decoder");
        }
        int batch = prompts.size();
        int width = 0;
        for (int i = 0; i < batch; i++) {
            if (prompts.get(i).length == 0) {
                throw new BadInputException("prompt " + i + " is empty: generation needs at least one token (e.g. BOS)");
            }
            width = Math.max(width, prompts.get(i).length);
        }
        int capacity = width + sampling.maxNewTokens();
        int[] pad = new int[batch]; // leading pad columns of each row
        Sampler[] samplers = new Sampler[batch];
        List<List<Integer>> out = new ArrayList<>();
        float[][] logprobs = new float[batch][sampling.isGreedy() ? 0 : sampling.maxNewTokens()];
        Finish[] finish = new Finish[batch];
        for (int i = 0; i < batch; i++) {
            pad[i] = width - prompts.get(i).length;
            samplers[i] = new Sampler(new Sampling(sampling.temperature(), sampling.topK(), sampling.topP(),
                    rowSeed(sampling.seed(), i), sampling.maxNewTokens(), sampling.stopIds()));
            out.add(new ArrayList<>());
        }
        if (sampling.maxNewTokens() == 0) {
            Arrays.fill(finish, Finish.LENGTH);
            return results(out, logprobs, sampling.isGreedy(), finish, decoder, stopStrings);
        }
        try (NDManager m = model.manager().newSubManager(); KvCache cache = model.newCache(batch, capacity)) {
            long[] ids = new long[batch * width];
            long[] positions = new long[batch * width];
            boolean[] mask = new boolean[batch * width * width]; // [B, 1, T, T]
            for (int b = 0; b < batch; b++) {
                int[] p = prompts.get(b);
                for (int col = 0; col < width; col++) {
                    boolean real = col >= pad[b];
                    ids[b * width + col] = real ? p[col - pad[b]] : padId;
                    positions[b * width + col] = real ? col - pad[b] : 0;
                    for (int key = 0; key <= col; key++) {
                        // causal over real tokens; a pad query sees only itself, so no softmax row is empty
                        mask[(b * width + col) * width + key] = real ? key >= pad[b] : key == col;
                    }
                }
            }
            // read into the same arrays every step: fresh ones (two copies of [B, V] per step) were most of a
            // rollout's Java garbage, and the young generation the JVM grew to hold it added to the peak RSS
            float[][] logits = new float[batch][model.config().vocabSize()];
            try (NDScope scope = new NDScope()) {
                NDArray l = model.decode(m.create(ids, new Shape(batch, width)),
                        m.create(positions, new Shape(batch, width)),
                        m.create(mask, new Shape(batch, 1, width, width)), cache); // [B, V]
                rows(l, logits);
            }
            for (int step = 0; step < sampling.maxNewTokens(); step++) {
                long[] next = new long[batch];
                boolean running = false;
                for (int b = 0; b < batch; b++) {
                    if (finish[b] != null) {
                        next[b] = padId; // a stopped row keeps stepping with padding nobody reads
                        continue;
                    }
                    int token = samplers[b].next(logits[b]);
                    if (!sampling.isGreedy()) {
                        logprobs[b][out.get(b).size()] = (float) samplers[b].lastLogprob();
                    }
                    out.get(b).add(token);
                    next[b] = token;
                    if (sampling.stopIds().contains(token)) {
                        finish[b] = Finish.STOP_TOKEN;
                    } else if (!stopStrings.isEmpty() && containsAny(decoder.apply(toArray(out.get(b))), stopStrings)) {
                        finish[b] = Finish.STOP_STRING;
                    } else if (out.get(b).size() == sampling.maxNewTokens()) {
                        finish[b] = Finish.LENGTH;
                    } else {
                        running = true;
                    }
                }
                if (!running) {
                    break;
                }
                int keys = width + step + 1;
                long[] pos = new long[batch];
                boolean[] stepMask = new boolean[batch * keys]; // [B, 1, 1, S]
                for (int b = 0; b < batch; b++) {
                    pos[b] = width - pad[b] + step;
                    for (int key = pad[b]; key < keys; key++) {
                        stepMask[b * keys + key] = true;
                    }
                }
                try (NDScope scope = new NDScope()) {
                    NDArray l = model.decode(m.create(next, new Shape(batch, 1)), m.create(pos, new Shape(batch, 1)),
                            m.create(stepMask, new Shape(batch, 1, 1, keys)), cache);
                    rows(l, logits);
                }
            }
        }
        return results(out, logprobs, sampling.isGreedy(), finish, decoder, stopStrings);
    }

    /** A distinct, reproducible seed per row (a SplitMix64-style mix of the batch seed and the row). */
    static long rowSeed(long seed, int row) {
        long z = seed + 0x9E3779B97F4A7C15L * (row + 1L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Copies {@code logits: [B, V]} row by row into {@code out}, straight from the tensor's memory. */
    private static void rows(NDArray logits, float[][] out) {
        if (logits.getShape().size() != (long) out.length * out[0].length) {
            throw new IllegalStateException("logits " + logits.getShape() + " for " + out.length + " rows of "
                    + out[0].length);
        }
        FloatBuffer flat = logits.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
        for (float[] row : out) {
            flat.get(row);
        }
    }

    private static List<Completion> results(List<List<Integer>> out, float[][] logprobs, boolean greedy,
            Finish[] finish, Function<int[], String> decoder, List<String> stopStrings) {
        List<Completion> results = new ArrayList<>(out.size());
        for (int b = 0; b < out.size(); b++) {
            int[] tokens = toArray(out.get(b));
            String text = null;
            if (decoder != null) {
                int[] visible = finish[b] == Finish.STOP_TOKEN ? Arrays.copyOf(tokens, tokens.length - 1) : tokens;
                text = decoder.apply(visible);
                int cut = text.length();
                for (String s : stopStrings) {
                    int at = text.indexOf(s);
                    if (at >= 0) {
                        cut = Math.min(cut, at);
                    }
                }
                text = text.substring(0, cut);
            }
            results.add(new Completion(tokens, text, finish[b],
                    greedy ? null : Arrays.copyOf(logprobs[b], tokens.length)));
        }
        return results;
    }

    private static boolean containsAny(String text, List<String> needles) {
        for (String s : needles) {
            if (text.contains(s)) {
                return true;
            }
        }
        return false;
    }

    private static int[] toArray(List<Integer> l) {
        return l.stream().mapToInt(Integer::intValue).toArray();
    }
}
