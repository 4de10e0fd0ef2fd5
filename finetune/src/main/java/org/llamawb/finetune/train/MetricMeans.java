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

    /** The means since the last call; starts afresh. */
    public Map<String, Double> take() {
        Map<String, Double> out = new LinkedHashMap<>();
        sums.forEach((k, s) -> out.put(k, s[0] / s[1]));
        sums.clear();
        return out;
    }
}
