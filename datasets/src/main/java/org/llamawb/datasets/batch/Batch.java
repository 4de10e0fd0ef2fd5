package org.llamawb.datasets.batch;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.llamawb.datasets.tokenize.TokenizedExample;

/**
 * One micro-batch, all {@code [B, T]}: plain arrays as the loader builds them, and the int64 arrays the
 * model consumes ({@link #inputIdsArray} and its siblings).
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

    /**
     * One example per row and no padding (hand-made batches: tests, benchmarks): every slot is a real
     * token and rows are not packed.
     */
    public static Batch ofRows(int[][] inputIds, int[][] labels) {
        return new Batch(inputIds, labels, null, null, inputIds.length, (long) inputIds.length * inputIds[0].length);
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

    /**
     * Positions that contribute to the next-token loss: labels that are not {@link TokenizedExample#IGNORE},
     * after the first position of each row (nothing precedes it to predict it from).
     */
    public long trainedTokens() {
        long n = 0;
        for (int[] row : labels) {
            for (int j = 1; j < row.length; j++) {
                if (row[j] != TokenizedExample.IGNORE) {
                    n++;
                }
            }
        }
        return n;
    }

    public NDArray inputIdsArray(NDManager m) {
        return toArray(m, inputIds);
    }

    /** Null when rows are not packed (the model then counts 0..T-1 in every row). */
    public NDArray positionIdsArray(NDManager m) {
        return positionIds == null ? null : toArray(m, positionIds);
    }

    /** Null when rows are not packed. */
    public NDArray segmentIdsArray(NDManager m) {
        return segmentIds == null ? null : toArray(m, segmentIds);
    }

    private static NDArray toArray(NDManager m, int[][] rows) {
        int b = rows.length;
        int t = rows[0].length;
        long[] flat = new long[b * t];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                flat[i * t + j] = rows[i][j];
            }
        }
        return m.create(flat, new Shape(b, t)); // [B, T] int64
    }
}
