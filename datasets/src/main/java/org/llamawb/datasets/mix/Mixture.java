package org.llamawb.datasets.mix;

import java.util.Arrays;
import java.util.Random;

/** How a source's weight turns into the examples an epoch uses. */
public final class Mixture {
    private Mixture() {}

    /**
     * The indices {@code 0..n-1} repeated {@code floor(weight)} times, then a seeded sample without
     * replacement of {@code round(frac(weight) * n)} of them: weight 1 uses each example once, 0.5 a fixed
     * half, 2.5 each twice and a fixed half a third time. The sample is drawn once (not per epoch), so
     * the training set is fixed by the seed.
     */
    public static int[] weighted(int n, double weight, long seed) {
        if (!(weight > 0)) {
            throw new IllegalArgumentException("weight must be > 0, got " + weight);
        }
        int whole = (int) Math.floor(weight);
        int extra = (int) Math.round((weight - whole) * n);
        int[] out = new int[whole * n + extra];
        for (int c = 0; c < whole; c++) {
            for (int i = 0; i < n; i++) {
                out[c * n + i] = i;
            }
        }
        if (extra > 0) {
            int[] order = new int[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            Random rng = new Random(seed);
            for (int i = n - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            int[] sample = Arrays.copyOf(order, extra);
            Arrays.sort(sample);
            System.arraycopy(sample, 0, out, whole * n, extra);
        }
        return out;
    }
}
