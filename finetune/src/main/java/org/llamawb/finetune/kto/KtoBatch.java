package org.llamawb.finetune.kto;

/**
 * A micro-batch of KTO examples, right-padded: row {@code i} of {@code ids} is prompt {@code i} with its
 * own answer, row {@code i} of {@code klIds} the same prompt with the mismatched answer of the KL estimate.
 *
 * @param ids {@code [N, T]}
 * @param labels {@code [N, T]}, the answer's ids, {@code -100} elsewhere
 * @param klIds {@code [N, T']}
 * @param klLabels {@code [N, T']}
 * @param desirable the label of every example
 */
public record KtoBatch(int[][] ids, int[][] labels, int[][] klIds, int[][] klLabels, boolean[] desirable) {
    public KtoBatch {
        if (ids.length == 0 || labels.length != ids.length || klIds.length != ids.length || klLabels.length != ids.length
                || desirable.length != ids.length) {
            throw new IllegalArgumentException("every part of a KTO batch must have the same non-zero number of rows");
        }
    }

    public int rows() {
        return ids.length;
    }
}
