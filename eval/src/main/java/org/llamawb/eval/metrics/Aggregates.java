package org.llamawb.eval.metrics;

/** Aggregations of per-example values, with lm-evaluation-harness' formulas (lm_eval.api.metrics). */
public final class Aggregates {
    private Aggregates() {}

    public static double mean(double[] v) {
        if (v.length == 0) {
            return Double.NaN;
        }
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s / v.length;
    }

    /** {@code sample_stddev / sqrt(n)} with the n-1 sample standard deviation; NaN below two values. */
    public static double meanStderr(double[] v) {
        if (v.length < 2) {
            return Double.NaN;
        }
        double mu = mean(v);
        double ss = 0;
        for (double x : v) {
            ss += (x - mu) * (x - mu);
        }
        return Math.sqrt(ss / (v.length - 1)) / Math.sqrt(v.length);
    }

    /** Index of the largest value, the first on ties (numpy's argmax). */
    public static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * acc_norm's choice: argmax of {@code loglikelihood / length}, where the length is that of the choice
     * string in characters (Python's {@code len}: code points), as lm-evaluation-harness' multiple-choice
     * {@code process_results} computes it; for ASCII text it is the byte length.
     */
    public static int argmaxNormalised(double[] loglikelihoods, java.util.List<String> texts) {
        double[] n = new double[loglikelihoods.length];
        for (int i = 0; i < n.length; i++) {
            String t = texts.get(i);
            n[i] = loglikelihoods[i] / t.codePointCount(0, t.length());
        }
        return argmax(n);
    }

    /** {@code exp(-mean(loglikelihoods))}: lm-evaluation-harness' perplexity aggregation. */
    public static double perplexity(double[] loglikelihoods) {
        return Math.exp(-mean(loglikelihoods));
    }
}
