package org.llamawb.eval.report;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.llamawb.eval.metrics.Metric;
import org.llamawb.eval.task.TaskKind;

/**
 * The outcome of one task on one model.
 *
 * @param task the task name
 * @param kind its kind
 * @param examples how many examples were evaluated
 * @param shots shots per example
 * @param metrics in display order, by name
 * @param seconds wall time of the task (tokenisation, model, metrics)
 * @param tokenSlots token positions run through the model (padding included), 0 when not counted
 * @param artifacts files written for this task (per-example samples, generated answers), by role
 */
public record TaskResult(String task, TaskKind kind, int examples, int shots, Map<String, Metric> metrics,
        double seconds, long tokenSlots, Map<String, String> artifacts) {

    public TaskResult {
        metrics = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
        artifacts = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(artifacts));
    }

    public static Map<String, Metric> metricMap(List<Metric> list) {
        Map<String, Metric> m = new LinkedHashMap<>();
        for (Metric x : list) {
            m.put(x.name(), x);
        }
        return m;
    }

    /** Examples per second of wall time. */
    public double examplesPerSecond() {
        return seconds > 0 ? examples / seconds : Double.NaN;
    }

    /** The metric charts and comparisons lead with: the first one. */
    public Metric headline() {
        return metrics.values().iterator().next();
    }

    public TaskResult withArtifact(String role, String path) {
        Map<String, String> a = new LinkedHashMap<>(artifacts);
        a.put(role, path);
        return new TaskResult(task, kind, examples, shots, metrics, seconds, tokenSlots, a);
    }
}
