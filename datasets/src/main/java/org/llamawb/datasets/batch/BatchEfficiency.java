package org.llamawb.datasets.batch;

/**
 * How well an epoch's batches use their token slots.
 *
 * @param batches batches in the epoch
 * @param rows rows in all batches
 * @param examples examples placed
 * @param realTokens tokens that are not padding
 * @param slots token slots ({@code rows x row length}, per batch)
 * @param trainedTokens positions that contribute to the loss
 */
public record BatchEfficiency(long batches, long rows, long examples, long realTokens, long slots, long trainedTokens) {

    /** Real tokens over slots: 1 means no padding at all. */
    public double fill() {
        return slots == 0 ? 0 : (double) realTokens / slots;
    }

    /** Padding share of the slots. */
    public double padding() {
        return slots == 0 ? 0 : 1 - fill();
    }

    public double examplesPerRow() {
        return rows == 0 ? 0 : (double) examples / rows;
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT,
                "%d batches, %d rows, %d examples (%.2f per row), %d of %d token slots used (fill %.1f%%, padding %.1f%%),"
                        + " %d trained tokens", batches, rows, examples, examplesPerRow(), realTokens, slots,
                100 * fill(), 100 * padding(), trainedTokens);
    }
}
