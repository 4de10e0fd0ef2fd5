package org.llamawb.tracking.compare;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.llamawb.tracking.TrackingException;
import org.llamawb.tracking.mlflow.MetricPoint;
import org.llamawb.tracking.mlflow.MlflowServer;
import org.llamawb.tracking.mlflow.RemoteExperiment;
import org.llamawb.tracking.mlflow.RemoteRun;

/** {@code workbench runs list}: the runs of one experiment, or of all, as a table. */
public final class RunList {
    private RunList() {}

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm")
            .withZone(ZoneId.systemDefault());

    /**
     * The table of runs (experiment, name, id, status, start, duration, final loss and eval_loss).
     *
     * @param experiment an experiment name, or null for every active experiment
     * @throws TrackingException when the named experiment does not exist
     */
    public static String table(MlflowServer server, String experiment) {
        List<RemoteExperiment> exps;
        if (experiment != null) {
            exps = List.of(server.experiment(experiment).orElseThrow(() -> new TrackingException(
                    "no MLflow experiment named '" + experiment + "' at " + server.uri()
                            + "; run 'workbench runs list' to see them all")));
        } else {
            exps = server.experiments();
        }
        List<List<String>> rows = new ArrayList<>();
        for (RemoteExperiment e : exps) {
            for (RemoteRun r : server.searchRuns(List.of(e.id()), "")) {
                rows.add(List.of(e.name(), r.name(), r.runId(), r.status(), TIME.format(Instant.ofEpochMilli(r.startTime())),
                        duration(r), last(r.latestMetrics(), "loss"), last(r.latestMetrics(), "eval_loss")));
            }
        }
        if (rows.isEmpty()) {
            return "no runs" + (experiment == null ? "" : " in experiment '" + experiment + "'") + " at "
                    + server.uri() + "\n";
        }
        return Table.render(List.of("experiment", "run", "run id", "status", "started", "took", "loss", "eval_loss"),
                rows);
    }

    private static String last(Map<String, MetricPoint> m, String key) {
        MetricPoint p = m.get(key);
        return p == null ? "-" : Table.number(p.value());
    }

    private static String duration(RemoteRun r) {
        if (r.endTime() <= 0) {
            return "-";
        }
        long s = Math.max(0, (r.endTime() - r.startTime()) / 1000);
        return s >= 3600 ? String.format("%dh%02dm", s / 3600, s / 60 % 60)
                : s >= 60 ? String.format("%dm%02ds", s / 60, s % 60) : s + "s";
    }
}
