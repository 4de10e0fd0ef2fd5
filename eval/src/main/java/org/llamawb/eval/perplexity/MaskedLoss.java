package org.llamawb.eval.perplexity;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Arrays;
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

    /**
     * One sequence's share of the loss.
     *
     * @param nll its summed negative log-likelihood over its scored tokens (nats)
     * @param scoredTokens how many of its tokens were scored
     * @param truncated whether it was longer than the window and cut
     */
    public record SequenceLoss(double nll, int scoredTokens, boolean truncated) {}

    /**
     * The mean over all scored tokens of the set: the sequences' {@link #perSequence} sums added in the order of
     * {@code sequences}, so that a set scored in parts gives the same number when the parts' sums are added in
     * that order.
     */
    public static Result compute(Llama model, List<LabelledSequence> sequences, int maxLength, int batchTokens) {
        return total(perSequence(model, sequences, maxLength, batchTokens));
    }

    /** The loss over the sequences whose shares are {@code parts}, added in their order. */
    public static Result total(List<SequenceLoss> parts) {
        double nll = 0;
        long scored = 0;
        int truncated = 0;
        for (SequenceLoss p : parts) {
            nll += p.nll();
            scored += p.scoredTokens();
            truncated += p.truncated() ? 1 : 0;
        }
        return new Result(scored == 0 ? Double.NaN : nll / scored, scored, parts.size(), truncated);
    }

    /**
     * Each sequence's summed loss, in the order of {@code sequences}. Rows are batched longest first (up to
     * {@code batchTokens} token slots per forward pass) to waste little padding.
     */
    public static List<SequenceLoss> perSequence(Llama model, List<LabelledSequence> sequences, int maxLength,
            int batchTokens) {
        Integer[] order = new Integer[sequences.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingInt((Integer i) -> sequences.get(i).length()).reversed());
        double[] nll = new double[order.length];
        int[] scored = new int[order.length];
        try (NDManager m = model.manager().newSubManager()) {
            int i = 0;
            while (i < order.length) {
                int width = Math.min(sequences.get(order[i]).length(), maxLength);
                int n = 1;
                while (i + n < order.length && (long) (n + 1) * width <= batchTokens) {
                    n++;
                }
                long[] tokens = new long[n * width];
                List<Long> slots = new ArrayList<>();
                List<Long> targets = new ArrayList<>();
                List<Integer> owners = new ArrayList<>();
                for (int r = 0; r < n; r++) {
                    LabelledSequence s = sequences.get(order[i + r]);
                    int len = Math.min(s.length(), width);
                    for (int t = 0; t < len; t++) {
                        tokens[r * width + t] = s.id(t);
                        if (t > 0 && s.label(t) != TokenizedExample.IGNORE) {
                            slots.add((long) r * width + t - 1);
                            targets.add((long) s.label(t));
                            owners.add(order[i + r]);
                        }
                    }
                }
                if (!slots.isEmpty()) {
                    TokenLogprobs.Result res = TokenLogprobs.compute(model, m, tokens, n, width, null, null,
                            slots.stream().mapToLong(Long::longValue).toArray(),
                            targets.stream().mapToLong(Long::longValue).toArray());
                    float[] lps = res.logprobs();
                    for (int j = 0; j < lps.length; j++) {
                        nll[owners.get(j)] -= lps[j];
                        scored[owners.get(j)]++;
                    }
                }
                i += n;
            }
        }
        List<SequenceLoss> out = new ArrayList<>(order.length);
        for (int i = 0; i < order.length; i++) {
            out.add(new SequenceLoss(nll[i], scored[i], sequences.get(i).length() > maxLength));
        }
        return out;
    }
}
