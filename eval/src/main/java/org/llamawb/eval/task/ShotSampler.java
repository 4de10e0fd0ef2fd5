package org.llamawb.eval.task;

import org.llamawb.model.BadInputException;

/**
 * Draws the shots of an example: {@code k} distinct other examples of the same file, the same for the same
 * seed and example on every run and machine.
 *
 * <p>Each example has its own splitmix64 stream started at {@code seed ^ (index × 0xD1B54A32D192ED03)};
 * each draw takes the next output modulo the number of examples and keeps it unless it is the example
 * itself or already drawn. The Python reference (scripts/reference/eval/gauntlet.py) draws identically.
 */
public final class ShotSampler {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    private static final long STREAM = 0xD1B54A32D192ED03L;

    private ShotSampler() {}

    /** Indices of the shots of example {@code doc} among {@code n} examples, in draw order. */
    public static int[] draw(long seed, int doc, int n, int k) {
        if (k > n - 1) {
            throw new BadInputException("shots = " + k + " but the file has only " + n + " examples (the example itself is never a shot)");
        }
        int[] out = new int[k];
        long state = seed ^ (doc * STREAM);
        int have = 0;
        while (have < k) {
            state += GOLDEN;
            int c = (int) Long.remainderUnsigned(mix(state), n);
            if (c == doc || contains(out, have, c)) {
                continue;
            }
            out[have++] = c;
        }
        return out;
    }

    /** The splitmix64 output function. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static boolean contains(int[] a, int n, int v) {
        for (int i = 0; i < n; i++) {
            if (a[i] == v) {
                return true;
            }
        }
        return false;
    }
}
