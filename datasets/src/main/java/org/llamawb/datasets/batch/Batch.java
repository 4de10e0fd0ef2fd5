package org.llamawb.datasets.batch;

import org.llamawb.datasets.tokenize.TokenizedExample;

/**
 * One micro-batch as plain arrays, all {@code [B, T]}, in the training loop's layout
 * ({@code org.llamawb.finetune.sft.TokenBatch}).
 *
 * @param inputIds token ids; padding positions hold the pad id
 * @param labels unshifted targets (label[t] is the token at t), {@link TokenizedExample#IGNORE} where not
 *     trained: padding, prompts, and the first token of every packed example
 * @param positionIds positions restarting at 0 for every packed example; null when rows are not packed
 * @param segmentIds the index of the example each token belongs to within its row (padding has its own
 *     index), so attention never crosses examples; null when rows are not packed
 * @param examples how many examples the batch holds
 * @param realTokens tokens that are not padding
 */
public record Batch(int[][] inputIds, int[][] labels, int[][] positionIds, int[][] segmentIds, int examples,
        long realTokens) {

    public Batch {
        int b = inputIds.length;
        if (b == 0 || labels.length != b || (positionIds == null) != (segmentIds == null)) {
            throw new IllegalArgumentException("inputIds and labels must have the same non-zero number of rows,"
                    + " and positionIds and segmentIds must both be given or both be null");
        }
        int t = inputIds[0].length;
        for (int i = 0; i < b; i++) {
            if (inputIds[i].length != t || labels[i].length != t
                    || (positionIds != null && (positionIds[i].length != t || segmentIds[i].length != t))) {
                throw new IllegalArgumentException("every row of a batch must have length " + t);
            }
        }
    }

    public int rows() {
        return inputIds.length;
    }

    public int length() {
        return inputIds[0].length;
    }

    public boolean packed() {
        return segmentIds != null;
    }

    /** Token slots, padding included. */
    public long slots() {
        return (long) rows() * length();
    }

    /** Positions that contribute to the loss. */
    public long trainedTokens() {
        long n = 0;
        for (int[] row : labels) {
            for (int l : row) {
                if (l != TokenizedExample.IGNORE) {
                    n++;
                }
            }
        }
        return n;
    }
}
