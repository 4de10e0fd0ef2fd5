package org.llamawb.eval.generation;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.llamawb.model.KvCache;
import org.llamawb.model.Llama;
import org.llamawb.model.generate.Sampler;
import org.llamawb.model.generate.Sampling;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * Generates text after a prompt with the KV cache, stopping at EOS, at {@code maxNewTokens}, or as soon as
 * the decoded text contains a stop string (which is cut off, as lm-evaluation-harness' {@code until}).
 * A prompt longer than the window minus the new tokens loses tokens on the left.
 */
public final class TextGenerator {
    private final Llama model;
    private final LlamaTokenizer tokenizer;
    private final int maxLength;

    /** What one call produced: the text (stop string removed), its tokens, and why it ended. */
    public record Generation(String text, int[] tokens, int promptTokens, String stoppedBy) {}

    public TextGenerator(Llama model, LlamaTokenizer tokenizer, int maxLength) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
    }

    public Generation generate(int[] prompt, Sampling sampling, List<String> stop) {
        int keep = Math.max(1, maxLength - sampling.maxNewTokens());
        if (prompt.length > keep) {
            prompt = Arrays.copyOfRange(prompt, prompt.length - keep, prompt.length);
        }
        Sampler sampler = new Sampler(sampling);
        List<Integer> out = new ArrayList<>();
        String stoppedBy = "max_new_tokens";
        String text = "";
        try (NDManager m = model.manager().newSubManager();
                KvCache cache = model.newCache(1, prompt.length + sampling.maxNewTokens())) {
            float[] logits = step(m, cache, Arrays.stream(prompt).asLongStream().toArray());
            for (int i = 0; i < sampling.maxNewTokens(); i++) {
                int next = sampler.next(logits);
                if (sampling.stopIds().contains(next)) {
                    stoppedBy = "eos";
                    break;
                }
                out.add(next);
                text = tokenizer.decode(out.stream().mapToInt(Integer::intValue).toArray());
                int cut = firstStop(text, stop);
                if (cut >= 0) {
                    text = text.substring(0, cut);
                    stoppedBy = "stop";
                    break;
                }
                if (i + 1 < sampling.maxNewTokens()) {
                    logits = step(m, cache, new long[] {next});
                }
            }
        }
        return new Generation(text, out.stream().mapToInt(Integer::intValue).toArray(), prompt.length, stoppedBy);
    }

    private float[] step(NDManager m, KvCache cache, long[] ids) {
        try (NDScope scope = new NDScope()) {
            NDArray l = model.decode(m.create(ids, new Shape(1, ids.length)), cache); // [1, V]
            return l.toFloatArray();
        }
    }

    private static int firstStop(String text, List<String> stop) {
        int best = -1;
        for (String s : stop) {
            int i = text.indexOf(s);
            if (i >= 0 && (best < 0 || i < best)) {
                best = i;
            }
        }
        return best;
    }
}
