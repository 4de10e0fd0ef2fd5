package org.llamawb.datasets.batch;

/**
 * Preference pairs as two batches with the same shape {@code [B, T]}: row {@code i} of {@code chosen}
 * and of {@code rejected} hold the same prompt followed by the two answers; labels train the answers
 * only. Rows are right-padded, never packed.
 */
public record PairBatch(Batch chosen, Batch rejected) {
    public PairBatch {
        if (chosen.rows() != rejected.rows() || chosen.length() != rejected.length()) {
            throw new IllegalArgumentException("chosen and rejected batches must have the same shape");
        }
    }
}
