package org.llamawb.datasets.tokenize;

import java.util.Objects;
import org.llamawb.datasets.example.Origin;

/**
 * One supervised sequence ready for batching.
 *
 * @param inputIds token ids, BOS first
 * @param labels {@code labels[t]} is {@code inputIds[t]} where the token is trained and
 *     {@link #IGNORE} elsewhere (transformers' unshifted convention: the loss shifts)
 * @param truncated whether tokens were cut at {@code max_length}
 */
public record TokenizedExample(String id, Origin origin, int[] inputIds, int[] labels, boolean truncated) {
    /** The label of a position that is not trained (PyTorch's {@code ignore_index}). */
    public static final int IGNORE = -100;

    public TokenizedExample {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(origin, "origin");
        if (inputIds.length != labels.length || inputIds.length == 0) {
            throw new IllegalArgumentException("inputIds and labels must have the same non-zero length");
        }
    }

    public int length() {
        return inputIds.length;
    }

    /** Positions whose label is trained. */
    public int trainedTokens() {
        int n = 0;
        for (int l : labels) {
            if (l != IGNORE) {
                n++;
            }
        }
        return n;
    }
}
