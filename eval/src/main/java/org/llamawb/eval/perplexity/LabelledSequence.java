package org.llamawb.eval.perplexity;

import java.util.Arrays;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.model.BadInputException;

/**
 * A tokenised example with per-token labels in transformers' convention: {@code labels[t]} is the token
 * expected at position t ({@code -100} = not scored, e.g. system and user turns of a dialogue); the model's
 * output at t - 1 predicts it.
 */
public record LabelledSequence(int[] inputIds, int[] labels) {
    public LabelledSequence {
        if (inputIds.length != labels.length) {
            throw new BadInputException("labels (" + labels.length + ") and input ids (" + inputIds.length
                    + ") differ in length");
        }
        inputIds = inputIds.clone();
        labels = labels.clone();
    }

    /** Labels equal to the ids where {@code scored[t]}, {@link TokenizedExample#IGNORE} elsewhere. */
    public static LabelledSequence masked(int[] ids, boolean[] scored) {
        int[] labels = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            labels[i] = scored[i] ? ids[i] : TokenizedExample.IGNORE;
        }
        return new LabelledSequence(ids, labels);
    }

    @Override
    public int[] inputIds() {
        return inputIds.clone();
    }

    @Override
    public int[] labels() {
        return labels.clone();
    }

    int length() {
        return inputIds.length;
    }

    int id(int t) {
        return inputIds[t];
    }

    int label(int t) {
        return labels[t];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LabelledSequence s && Arrays.equals(s.inputIds, inputIds) && Arrays.equals(s.labels, labels);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(inputIds) * 31 + Arrays.hashCode(labels);
    }
}
