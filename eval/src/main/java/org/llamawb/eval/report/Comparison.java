package org.llamawb.eval.report;

import java.util.ArrayList;
import java.util.List;
import org.llamawb.eval.metrics.Metric;

/**
 * The same tasks on a base model and on base + adapter, metric by metric.
 *
 * @param base results without the adapter
 * @param adapted results with it
 */
public record Comparison(EvalReport base, EvalReport adapted) {

    /** One metric of one task on both models. */
    public record Row(String task, String metric, Metric base, Metric adapted) {
        public double delta() {
            return adapted.value() - base.value();
        }
    }

    /** Rows for every metric both reports have, in the base's task order. */
    public List<Row> rows() {
        List<Row> out = new ArrayList<>();
        for (TaskResult b : base.tasks()) {
            TaskResult a = adapted.tasks().stream().filter(t -> t.task().equals(b.task())).findFirst().orElse(null);
            if (a == null) {
                continue;
            }
            b.metrics().forEach((name, m) -> {
                Metric am = a.metrics().get(name);
                if (am != null) {
                    out.add(new Row(b.task(), name, m, am));
                }
            });
        }
        return out;
    }
}
