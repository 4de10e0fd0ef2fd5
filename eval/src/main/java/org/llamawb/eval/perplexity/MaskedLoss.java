package org.llamawb.eval.perplexity;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.eval.score.TokenLogprobs;
import org.llamawb.model.Llama;

/**
 * Mean cross-entropy over the labelled tokens of a set of sequences (for a dialogue set: the assistant
 * tokens only), as transformers' {@code labels=-100} loss: position t - 1 predicts {@code labels[t]}.
 *
 * <p>The mean is over all scored tokens of the set (token-weighted), so perplexity = exp(loss) is that of
 * the assistant text as a whole. Sequences longer than the window are cut on the right, as training cuts them.
 */
public final class MaskedLoss {

    /**
     * @param loss mean negative log-likelihood per scored token (nats)
     * @param scoredTokens how many tokens were scored
     * @param sequences how many sequences
     * @param truncated how many sequences were longer than the window and cut
     */
    public record Result(double loss, long scoredTokens, int sequences, int truncated) {
        public double perplexity() {
            return Math.exp(loss);
        }
    }

    private MaskedLoss() {}

    public static Result compute(Llama model, List<LabelledSequence> sequences, int maxLength, int batchTokens) {
        List<LabelledSequence> rows = new ArrayList<>(sequences);
        rows.sort(Comparator.comparingInt(LabelledSequence::length).reversed());
        double nll = 0;
        long scored = 0;
        int truncated = 0;
        try (NDManager m = model.manager().newSubManager()) {
            int i = 0;
            while (i < rows.size()) {
                int width = Math.min(rows.get(i).length(), maxLength);
                int n = 1;
                while (i + n < rows.size() && (long) (n + 1) * width <= batchTokens) {
                    n++;
                }
                long[] tokens = new long[n * width];
                List<Long> slots = new ArrayList<>();
                List<Long> targets = new ArrayList<>();
                for (int r = 0; r < n; r++) {
                    LabelledSequence s = rows.get(i + r);
                    int len = Math.min(s.length(), width);
                    truncated += s.length() > maxLength ? 1 : 0;
                    for (int t = 0; t < len; t++) {
                        tokens[r * width + t] = s.id(t);
                        if (t > 0 && s.label(t) != TokenizedExample.IGNORE) {
                            slots.add((long) r * width + t - 1);
                            targets.add((long) s.label(t));
                        }
                    }
                }
                if (!slots.isEmpty()) {
                    TokenLogprobs.Result res = TokenLogprobs.compute(model, m, tokens, n, width, null, null,
                            slots.stream().mapToLong(Long::longValue).toArray(),
                            targets.stream().mapToLong(Long::longValue).toArray());
                    for (float lp : res.logprobs()) {
                        nll -= lp;
                    }
                    scored += slots.size();
                }
                i += n;
            }
        }
        return new Result(scored == 0 ? Double.NaN : nll / scored, scored, sequences.size(), truncated);
    }
}
