package org.llamawb.finetune.rl;

/**
 * Masked statistics over a {@code [B, T]} batch, as TRL's {@code masked_mean}, {@code masked_var} and
 * {@code masked_whiten}: positions whose mask is false take no part in the mean and variance but are still
 * shifted and scaled (callers zero them afterwards, as TRL does).
 */
public final class Whitening {
    private Whitening() {}

    /** {@code Σ m·x / Σ m} over every position. */
    public static double maskedMean(double[][] values, boolean[][] mask) {
        double sum = 0;
        long count = 0;
        for (int b = 0; b < values.length; b++) {
            for (int t = 0; t < values[b].length; t++) {
                if (mask[b][t]) {
                    sum += values[b][t];
                    count++;
                }
            }
        }
        if (count == 0) {
            throw new IllegalArgumentException("the mask selects no position");
        }
        return sum / count;
    }

    /**
     * Unbiased masked variance {@code Σ m·(x − μ)² / Σ m · n/(n − 1)} with {@code n = Σ m} (TRL applies Bessel's
     * correction; with a single selected position the variance is undefined).
     */
    public static double maskedVariance(double[][] values, boolean[][] mask) {
        double mean = maskedMean(values, mask);
        double sum = 0;
        long count = 0;
        for (int b = 0; b < values.length; b++) {
            for (int t = 0; t < values[b].length; t++) {
                if (mask[b][t]) {
                    double d = values[b][t] - mean;
                    sum += d * d;
                    count++;
                }
            }
        }
        if (count < 2) {
            throw new IllegalArgumentException("whitening needs at least two unmasked positions, got " + count
                    + " (use a larger mini-batch)");
        }
        return sum / count * count / (count - 1);
    }

    /**
     * {@code (x − μ) / √(σ² + 1e−8)}, plus {@code μ} again when {@code shiftMean} is false (TRL whitens rewards
     * that way: scale only, keep their mean). Applied to every position; μ and σ² come from the masked ones.
     */
    public static double[][] whiten(double[][] values, boolean[][] mask, boolean shiftMean) {
        double mean = maskedMean(values, mask);
        double scale = 1.0 / Math.sqrt(maskedVariance(values, mask) + 1e-8);
        double[][] out = new double[values.length][];
        for (int b = 0; b < values.length; b++) {
            out[b] = new double[values[b].length];
            for (int t = 0; t < values[b].length; t++) {
                out[b][t] = (values[b][t] - mean) * scale + (shiftMean ? 0 : mean);
            }
        }
        return out;
    }
}
