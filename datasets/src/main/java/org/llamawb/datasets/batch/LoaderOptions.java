package org.llamawb.datasets.batch;

/**
 * How a loader forms batches.
 *
 * @param batchSize rows per batch
 * @param maxLength the row length when packing (the longest example is at most this long)
 * @param packing several examples per row, up to {@code maxLength} tokens, with per-example position
 *     and segment ids; otherwise one example per row
 * @param groupByLength without packing: batch examples of similar length together (less padding) while
 *     the order of groups stays random
 * @param shuffle a seeded new order every epoch; false keeps the dataset order (validation)
 * @param seed the shuffle seed
 * @param padId the token id written at padding positions (never trained, never attended from real tokens)
 */
public record LoaderOptions(int batchSize, int maxLength, boolean packing, boolean groupByLength, boolean shuffle,
        long seed, int padId) {
    public LoaderOptions {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        if (maxLength < 2) {
            throw new IllegalArgumentException("max_length must be >= 2, got " + maxLength);
        }
        if (packing && groupByLength) {
            throw new IllegalArgumentException("packing and group_by_length are alternatives; choose one");
        }
    }
}
