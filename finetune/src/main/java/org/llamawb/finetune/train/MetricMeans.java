package org.llamawb.finetune.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Per-micro-batch metrics averaged at logging time, as TRL's {@code store_metrics} and {@code log} do:
 * the mean of each micro-batch's value since the last {@link #take}.
 */
public final class MetricMeans {
    private final Map<String, double[]> sums = new LinkedHashMap<>(); // key -> {sum, count}

    public void add(Map<String, Double> values) {
        values.forEach((k, v) -> {
            double[] s = sums.computeIfAbsent(k, x -> new double[2]);
            s[0] += v;
            s[1]++;
        });
    }

    /**
     * The sums and counts since the last {@link #take}, by name (a copy): what a checkpoint keeps, so that a run
     * resumed between two logged steps logs the means of an uninterrupted one.
     */
    public Map<String, double[]> pending() {
        Map<String, double[]> out = new LinkedHashMap<>();
        sums.forEach((k, s) -> out.put(k, s.clone()));
        return out;
    }

    /**
     * Adds what another accumulator's {@link #pending} returned (sums and counts) to what is held: a data-parallel
     * driver merges its workers' micro-batches this way, one by one in the step's order, so that the sums are added
     * in the order one process adds them.
     */
    public void merge(Map<String, double[]> pending) {
        pending.forEach((k, s) -> {
            double[] held = sums.computeIfAbsent(k, x -> new double[2]);
            held[0] += s[0];
            held[1] += s[1];
        });
    }

    /** Puts back what {@link #pending} returned (replacing what is held). */
    public void restore(Map<String, double[]> pending) {
        sums.clear();
        pending.forEach((k, s) -> sums.put(k, s.clone()));
    }

    /** The means since the last call; starts afresh. */
    public Map<String, Double> take() {
        Map<String, Double> out = new LinkedHashMap<>();
        sums.forEach((k, s) -> out.put(k, s[0] / s[1]));
        sums.clear();
        return out;
    }
}
