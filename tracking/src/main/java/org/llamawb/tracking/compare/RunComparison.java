package org.llamawb.tracking.compare;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import org.llamawb.tracking.TrackingException;
import org.llamawb.tracking.mlflow.MetricPoint;
import org.llamawb.tracking.mlflow.MlflowServer;
import org.llamawb.tracking.mlflow.RemoteExperiment;
import org.llamawb.tracking.mlflow.RemoteRun;

/**
 * The runs of one experiment side by side: the params whose values differ between them, the final value
 * of every (non-system) metric, and the best value of one chosen metric with the step it was reached at.
 *
 * @param runs oldest first
 * @param differingParams param keys whose value is not the same in every run (absent counts as a value)
 * @param metrics non-system metric names present in any run, sorted
 * @param metric the metric whose best value and history are compared
 * @param histories every value of {@code metric} per run id, in step order
 */
public record RunComparison(String experiment, List<RemoteRun> runs, List<String> differingParams,
        List<String> metrics, String metric, Map<String, List<MetricPoint>> histories) {

    /** A metric's best value in one run and where. */
    public record Best(double value, long step) {}

    /**
     * Reads the experiment's runs through the search API and {@code metric}'s history of each.
     *
     * @param metric the metric to rank by; null picks {@code eval_loss}, else {@code loss}, else the first
     * @throws TrackingException when the experiment does not exist or has no runs
     */
    public static RunComparison load(MlflowServer server, String experiment, String metric) {
        return load(server, experiment, metric, Map.of());
    }

    /**
     * The runs of the experiment that carry every tag of {@code tags} with its value (e.g. {@code chain} on the stages
     * of an SFT → reward → PPO chain), compared as {@link #load(MlflowServer, String, String)} compares all.
     *
     * @throws TrackingException when the experiment does not exist or no run has the tags
     */
    public static RunComparison load(MlflowServer server, String experiment, String metric, Map<String, String> tags) {
        RemoteExperiment exp = server.experiment(experiment).orElseThrow(() -> new TrackingException(
                "no MLflow experiment named '" + experiment + "' at " + server.uri()
                        + "; see the names with: workbench runs list"));
        List<RemoteRun> runs = server.searchRuns(List.of(exp.id()), tagFilter(tags));
        if (runs.isEmpty()) {
            throw new TrackingException("MLflow experiment '" + experiment + "' has no runs" + (tags.isEmpty() ? ""
                    : " tagged " + tags));
        }
        TreeSet<String> metricNames = new TreeSet<>();
        runs.forEach(r -> r.latestMetrics().keySet().stream().filter(k -> !k.startsWith("system/"))
                .forEach(metricNames::add));
        String chosen = metric;
        if (chosen == null) {
            chosen = metricNames.contains("eval_loss") ? "eval_loss" : metricNames.contains("loss") ? "loss"
                    : metricNames.isEmpty() ? null : metricNames.first();
        } else if (runs.stream().noneMatch(r -> r.latestMetrics().containsKey(metric))) {
            throw new TrackingException("--metric " + metric + ": no run of '" + experiment + "' logged it; it has "
                    + (metricNames.isEmpty() ? "no metrics" : String.join(", ", metricNames)));
        }
        Map<String, List<MetricPoint>> histories = new LinkedHashMap<>();
        if (chosen != null) {
            for (RemoteRun r : runs) {
                if (r.latestMetrics().containsKey(chosen)) {
                    List<MetricPoint> h = new ArrayList<>(server.metricHistory(r.runId(), chosen));
                    h.sort((a, b) -> a.step() != b.step() ? Long.compare(a.step(), b.step())
                            : Long.compare(a.timestamp(), b.timestamp()));
                    histories.put(r.runId(), h);
                }
            }
        }
        return new RunComparison(experiment, runs, differingParams(runs), List.copyOf(metricNames), chosen, histories);
    }

    /** MLflow's search filter for runs carrying every tag of {@code tags} ({@code tags.`k` = 'v' AND ...}). */
    static String tagFilter(Map<String, String> tags) {
        List<String> terms = new ArrayList<>();
        tags.forEach((k, v) -> terms.add("tags.`" + k + "` = '" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"));
        return String.join(" AND ", terms);
    }

    static List<String> differingParams(List<RemoteRun> runs) {
        TreeSet<String> keys = new TreeSet<>();
        runs.forEach(r -> keys.addAll(r.params().keySet()));
        List<String> out = new ArrayList<>();
        for (String k : keys) {
            String first = runs.get(0).params().get(k);
            if (runs.stream().anyMatch(r -> !Objects.equals(first, r.params().get(k)))) {
                out.add(k);
            }
        }
        return out;
    }

    /** The best value of the chosen metric in a run, or null when the run did not log it. */
    public Best best(String runId) {
        List<MetricPoint> h = histories.get(runId);
        if (h == null || h.isEmpty()) {
            return null;
        }
        MetricGoal goal = MetricGoal.of(metric);
        MetricPoint best = h.get(0);
        for (MetricPoint p : h) {
            if (goal.better(p.value(), best.value())) {
                best = p;
            }
        }
        return new Best(best.value(), best.step());
    }

    /** The comparison as a text table: one column per run, one row per differing param and metric. */
    public String table() {
        List<String> header = new ArrayList<>();
        header.add("");
        List<List<String>> rows = new ArrayList<>();
        List<String> ids = new ArrayList<>(List.of("run id"));
        List<String> status = new ArrayList<>(List.of("status"));
        for (RemoteRun r : runs) {
            header.add(r.name());
            ids.add(r.runId().length() > 8 ? r.runId().substring(0, 8) : r.runId());
            status.add(r.status());
        }
        rows.add(ids);
        rows.add(status);
        for (String p : differingParams) {
            List<String> row = new ArrayList<>(List.of(p));
            runs.forEach(r -> row.add(r.params().getOrDefault(p, "-")));
            rows.add(row);
        }
        for (String m : metrics) {
            List<String> row = new ArrayList<>(List.of(m + " (final)"));
            runs.forEach(r -> {
                MetricPoint p = r.latestMetrics().get(m);
                row.add(p == null ? "-" : Table.number(p.value()));
            });
            rows.add(row);
        }
        if (metric != null) {
            String goal = MetricGoal.of(metric) == MetricGoal.MINIMIZE ? "min" : "max";
            List<String> row = new ArrayList<>(List.of(metric + " (best, " + goal + ")"));
            runs.forEach(r -> {
                Best b = best(r.runId());
                row.add(b == null ? "-" : Table.number(b.value()) + " @" + b.step());
            });
            rows.add(row);
        }
        String note = differingParams.isEmpty() && runs.size() > 1 ? "(all params are equal across these runs)\n" : "";
        return Table.render(header, rows) + note;
    }
}
