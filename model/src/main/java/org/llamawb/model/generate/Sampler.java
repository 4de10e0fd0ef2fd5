package org.llamawb.model.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Chooses the next token from one logit vector, in the order transformers applies its warpers:
 * temperature, then top-k, then top-p, then a draw from what remains (argmax when greedy).
 *
 * <p>With top-k and top-p filtering, the draw walks the tokens from the most likely down, so the logits are sorted;
 * without them (top-k 0, top-p 1: the setting of GRPO's and PPO's rollouts) it walks them in id order, which draws
 * from the same distribution without sorting 32,000 values per row and token.
 */
public final class Sampler {
    private final Sampling sampling;
    private final SplittableRandom random;
    // scratch of one call, kept for the next: a rollout calls once per row and token, and fresh arrays of the
    // vocabulary's size each time were most of the garbage (and of the heap the JVM grew to hold it)
    private double[] scaled = new double[0];
    private long[] keys = new long[0];
    private int[] order = new int[0];
    private double[] p = new double[0];
    /** Of the last draw: the token, the largest scaled logit, and Σ exp(scaled − max) over the whole vocabulary (NaN: not summed yet). */
    private int lastToken = -1;
    private double lastMax;
    private double lastSum;

    public Sampler(Sampling sampling) {
        this.sampling = sampling;
        this.random = new SplittableRandom(sampling.seed());
    }

    /** The chosen token id for {@code logits: [V]}. */
    public int next(float[] logits) {
        if (sampling.isGreedy()) {
            return argmax(logits);
        }
        int n = logits.length;
        if (scaled.length != n) {
            scaled = new double[n];
            keys = new long[n];
            order = new int[n];
            p = new double[n];
        }
        for (int i = 0; i < n; i++) {
            scaled[i] = logits[i] / sampling.temperature();
        }
        if ((sampling.topK() == 0 || sampling.topK() >= n) && sampling.topP() >= 1) {
            return unfiltered(n);
        }
        descending(logits, keys, order); // most likely first
        int keep = sampling.topK() > 0 ? Math.min(sampling.topK(), n) : n;
        double max = scaled[order[0]];
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            p[i] = Math.exp(scaled[order[i]] - max);
            sum += p[i];
        }
        // top-p: the smallest prefix whose probability reaches topP (at least one token)
        if (sampling.topP() < 1) {
            double cumulative = 0;
            int cut = keep;
            for (int i = 0; i < keep; i++) {
                cumulative += p[i] / sum;
                if (cumulative >= sampling.topP()) {
                    cut = i + 1;
                    break;
                }
            }
            keep = cut;
            sum = 0;
            for (int i = 0; i < keep; i++) {
                sum += p[i];
            }
        }
        double u = random.nextDouble() * sum;
        lastMax = max;
        lastSum = Double.NaN; // sum covers the kept tokens only; lastLogprob sums the whole vocabulary if asked
        for (int i = 0; i < keep; i++) {
            u -= p[i];
            if (u < 0) {
                return lastToken = order[i];
            }
        }
        return lastToken = order[keep - 1];
    }

    /** A draw from the whole softmax of {@code scaled[0..n)}, walking the ids in order (no sort). */
    private int unfiltered(int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, scaled[i]);
        }
        double sum = 0;
        int last = 0; // the last id with a non-zero probability: the answer when rounding leaves u ≥ 0
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp(scaled[i] - max);
            sum += p[i];
            if (p[i] > 0) {
                last = i;
            }
        }
        lastMax = max;
        lastSum = sum;
        double u = random.nextDouble() * sum;
        for (int i = 0; i < n; i++) {
            u -= p[i];
            if (u < 0) {
                return lastToken = i;
            }
        }
        return lastToken = last;
    }

    /**
     * The log-probability of the last token {@link #next} drew under the temperature-scaled softmax over the whole
     * vocabulary, {@code log softmax(logits / temperature)[token]} (before any top-k or top-p cut, as TRL's PPO reads
     * it off {@code generate}'s logits), computed in double from the logits of that call; NaN when greedy or before
     * the first draw.
     */
    public double lastLogprob() {
        if (sampling.isGreedy() || lastToken < 0) {
            return Double.NaN;
        }
        if (Double.isNaN(lastSum)) {
            double sum = 0;
            for (int i = 0; i < scaled.length; i++) {
                sum += Math.exp(scaled[i] - lastMax);
            }
            lastSum = sum;
        }
        return scaled[lastToken] - lastMax - Math.log(lastSum);
    }

    /**
     * The indices of {@code logits} from the largest value to the smallest, equal values in index order (the order a
     * stable sort by {@code Double.compare} of {@code logits[i] / temperature} gives, since dividing by a positive
     * temperature keeps the order of floats). Each index rides in the low half of a primitive {@code long} whose high
     * half orders the value, so one primitive sort does it: a sort of boxed indices with a comparator took 5-10 times
     * as long at a 32,000-token vocabulary, once per row and token of every rollout.
     */
    static int[] descending(float[] logits) {
        int[] order = new int[logits.length];
        descending(logits, new long[logits.length], order);
        return order;
    }

    /** {@link #descending(float[])} into {@code order}, with {@code keys} as scratch (both of the logits' length). */
    private static void descending(float[] logits, long[] keys, int[] order) {
        int n = logits.length;
        for (int i = 0; i < n; i++) {
            int bits = Float.floatToIntBits(logits[i]); // NaN canonical: the largest, as Double.compare has it
            int ascending = bits ^ ((bits >> 31) & 0x7fffffff); // signed-int order = Float.compare order (-0 < 0)
            keys[i] = ((long) ~ascending << 32) | i; // ~ reverses the order; ties then fall to the smaller index
        }
        Arrays.sort(keys);
        for (int i = 0; i < n; i++) {
            order[i] = (int) keys[i];
        }
    }

    /** Index of the largest value; the first one on ties. */
    public static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
