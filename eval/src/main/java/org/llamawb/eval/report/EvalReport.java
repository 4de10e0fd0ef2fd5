package org.llamawb.eval.report;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything one evaluation of one model produced.
 *
 * @param label what this model variant is called in tables ("base", "adapter", or the model name)
 * @param model the checkpoint evaluated
 * @param adapter the adapter applied on top, or null
 * @param settings the resolved run settings (limit, shots, packing, ...) for the record
 * @param tasks one result per task, in the order run
 */
public record EvalReport(String label, String model, String adapter, Map<String, Object> settings, List<TaskResult> tasks) {

    public EvalReport {
        settings = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(settings));
        tasks = List.copyOf(tasks);
    }

    /** Flat metric map for MLflow: {@code task/metric} and {@code task/metric_stderr}. */
    public Map<String, Double> flatMetrics() {
        Map<String, Double> out = new LinkedHashMap<>();
        for (TaskResult t : tasks) {
            t.metrics().forEach((name, m) -> {
                out.put(t.task() + "/" + name, m.value());
                if (m.hasStderr()) {
                    out.put(t.task() + "/" + name + "_stderr", m.stderr());
                }
            });
            out.put(t.task() + "/examples_per_second", t.examplesPerSecond());
        }
        return out;
    }
}
