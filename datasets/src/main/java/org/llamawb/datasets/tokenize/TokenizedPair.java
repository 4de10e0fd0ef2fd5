package org.llamawb.datasets.tokenize;

import java.util.Arrays;
import java.util.Objects;
import org.llamawb.datasets.example.Origin;

/**
 * A preference pair as tokens: one shared prompt (system, earlier turns and the last user turn, rendered
 * by the chat template up to where the answer starts) and the two answers (each with the marker that
 * ends it). The chosen sequence is {@code prompt + chosen}, the rejected one {@code prompt + rejected};
 * only answer tokens are trained.
 */
public record TokenizedPair(String id, Origin origin, int[] prompt, int[] chosen, int[] rejected, boolean truncated) {
    public TokenizedPair {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(origin, "origin");
        if (prompt.length == 0 || chosen.length == 0 || rejected.length == 0) {
            throw new IllegalArgumentException("prompt, chosen and rejected must not be empty");
        }
    }

    public int[] chosenInputIds() {
        return concat(prompt, chosen);
    }

    public int[] rejectedInputIds() {
        return concat(prompt, rejected);
    }

    /** {@link TokenizedExample#IGNORE} over the prompt, the answer's ids after it. */
    public int[] chosenLabels() {
        return labels(prompt.length, chosen);
    }

    public int[] rejectedLabels() {
        return labels(prompt.length, rejected);
    }

    /** The longer of the two sequences. */
    public int length() {
        return prompt.length + Math.max(chosen.length, rejected.length);
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static int[] labels(int promptLength, int[] answer) {
        int[] out = new int[promptLength + answer.length];
        Arrays.fill(out, 0, promptLength, TokenizedExample.IGNORE);
        System.arraycopy(answer, 0, out, promptLength, answer.length);
        return out;
    }
}
