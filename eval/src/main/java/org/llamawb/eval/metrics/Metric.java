package org.llamawb.eval.metrics;

/**
 * A named result of a task.
 *
 * @param name e.g. {@code acc}, {@code acc_norm}, {@code perplexity}
 * @param value the aggregate over the examples
 * @param stderr its standard error, NaN where undefined (one example, or a metric without one)
 */
public record Metric(String name, double value, double stderr) {

    public static Metric of(String name, double value) {
        return new Metric(name, value, Double.NaN);
    }

    /** The mean of per-example values with lm-evaluation-harness' standard error. */
    public static Metric mean(String name, double[] perExample) {
        return new Metric(name, Aggregates.mean(perExample), Aggregates.meanStderr(perExample));
    }

    public boolean hasStderr() {
        return !Double.isNaN(stderr);
    }
}
