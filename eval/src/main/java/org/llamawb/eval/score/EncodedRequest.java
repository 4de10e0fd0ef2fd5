package org.llamawb.eval.score;

import java.util.Arrays;

/**
 * A log-likelihood request as token ids: the model reads {@code context} and is scored on every token of
 * {@code continuation}.
 *
 * @param context at least one token (BOS, or the prefix token for an empty context)
 * @param continuation at least one token
 */
public record EncodedRequest(int[] context, int[] continuation) {

    public EncodedRequest {
        if (context.length == 0) {
            throw new IllegalArgumentException("a request needs at least one context token");
        }
        if (continuation.length == 0) {
            throw new IllegalArgumentException("a request needs at least one continuation token");
        }
        context = context.clone();
        continuation = continuation.clone();
    }

    @Override
    public int[] context() {
        return context.clone();
    }

    @Override
    public int[] continuation() {
        return continuation.clone();
    }

    int contextLength() {
        return context.length;
    }

    int continuationLength() {
        return continuation.length;
    }

    int continuationAt(int i) {
        return continuation[i];
    }

    /**
     * The tokens the model reads, as lm-evaluation-harness cuts them: the last {@code maxLength + 1}
     * tokens of context + continuation, without the final one (left truncation).
     */
    int[] window(int maxLength) {
        int total = context.length + continuation.length;
        int start = Math.max(0, total - (maxLength + 1));
        int[] out = new int[total - 1 - start];
        for (int i = start; i < total - 1; i++) {
            out[i - start] = i < context.length ? context[i] : continuation[i - context.length];
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EncodedRequest r && Arrays.equals(r.context, context) && Arrays.equals(r.continuation, continuation);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(context) * 31 + Arrays.hashCode(continuation);
    }

    @Override
    public String toString() {
        return "EncodedRequest[context=" + context.length + " tokens, continuation=" + Arrays.toString(continuation) + "]";
    }
}
