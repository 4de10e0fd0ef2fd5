package org.llamawb.finetune.sft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * One micro-batch as the model consumes it, all {@code [B, T]}.
 *
 * @param inputIds token ids
 * @param labels target ids aligned with the inputs (transformers' convention: unshifted), -100 = not trained
 * @param positionIds positions restarting at 0 for every packed example, or null for 0..T-1 per row
 * @param segmentIds example index of every token in packed rows (attention stays within an example),
 *     or null when each row holds one example
 */
public record TokenBatch(int[][] inputIds, int[][] labels, int[][] positionIds, int[][] segmentIds) {

    public TokenBatch {
        int b = inputIds.length;
        if (b == 0 || labels.length != b) {
            throw new IllegalArgumentException("inputIds and labels must have the same non-zero number of rows");
        }
        int t = inputIds[0].length;
        for (int i = 0; i < b; i++) {
            if (inputIds[i].length != t || labels[i].length != t
                    || (positionIds != null && positionIds[i].length != t)
                    || (segmentIds != null && segmentIds[i].length != t)) {
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

    /** Tokens in the batch, padding included. */
    public long tokens() {
        return (long) rows() * length();
    }

    /** Positions that contribute to the loss. */
    public long trainedTokens() {
        return CausalLmLoss.trainedTokens(labels);
    }

    public NDArray inputIdsArray(NDManager m) {
        return toArray(m, inputIds);
    }

    public NDArray positionIdsArray(NDManager m) {
        return positionIds == null ? null : toArray(m, positionIds);
    }

    public NDArray segmentIdsArray(NDManager m) {
        return segmentIds == null ? null : toArray(m, segmentIds);
    }

    static NDArray toArray(NDManager m, int[][] rows) {
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
