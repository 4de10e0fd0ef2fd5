package org.llamawb.eval.perplexity;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.llamawb.eval.score.EncodedRequest;

/**
 * Splits a token stream into the disjoint windows lm-evaluation-harness scores for
 * {@code loglikelihood_rolling} ({@code get_rolling_token_windows} with {@code context_len = 1}, then
 * {@code make_disjoint_window}): every token is predicted exactly once; the first window is conditioned on
 * the prefix token, each later one on the tokens before it, up to the window length.
 */
public final class RollingWindows {
    private RollingWindows() {}

    /**
     * @param tokens the text's tokens (without BOS)
     * @param prefixToken what the first token is predicted from (BOS)
     * @param maxLength window length in tokens
     */
    public static List<EncodedRequest> of(int[] tokens, int prefixToken, int maxLength) {
        List<EncodedRequest> out = new ArrayList<>();
        int n = tokens.length;
        if (n == 0) {
            return out;
        }
        int first = Math.min(maxLength, n);
        out.add(new EncodedRequest(new int[] {prefixToken}, Arrays.copyOfRange(tokens, 0, first)));
        int predicted = first;
        while (predicted < n) {
            int len = Math.min(n - predicted, maxLength);
            int end = predicted + len;
            // input tokens[end - L - 1, end - 1), made disjoint from the predicted tokens[end - len, end)
            int ctxStart = end - maxLength - 1;
            int ctxEnd = end - len;
            out.add(new EncodedRequest(Arrays.copyOfRange(tokens, ctxStart, ctxEnd), Arrays.copyOfRange(tokens, end - len, end)));
            predicted = end;
        }
        return out;
    }
}
