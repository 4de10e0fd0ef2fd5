package org.llamawb.datasets.batch;

/**
 * Where a loader stands: the next batch to produce is batch {@code batch} (0-based) of epoch
 * {@code epoch}. Saved with a checkpoint, it resumes the exact batch sequence (a plain record of two
 * numbers, written to JSON as {@code {"epoch": 1, "batch": 17}}).
 */
public record LoaderPosition(int epoch, long batch) {
    public static final LoaderPosition START = new LoaderPosition(0, 0);

    public LoaderPosition {
        if (epoch < 0 || batch < 0) {
            throw new IllegalArgumentException("epoch and batch must be >= 0, got " + epoch + ", " + batch);
        }
    }

    @Override
    public String toString() {
        return "epoch " + epoch + ", batch " + batch;
    }
}
