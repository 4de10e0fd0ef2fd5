package org.llamawb.eval.run;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.llamawb.eval.report.EvalReport;
import org.llamawb.eval.report.ReportJson;
import org.llamawb.tracking.RunSpec;
import org.llamawb.tracking.TrackedRun;
import org.llamawb.tracking.Tracker;
import org.llamawb.tracking.TrackingSettings;

/**
 * Logs each evaluated model variant as one tracked run (MLflow, through the tracking module's journal, so a
 * server outage loses nothing and {@code workbench runs sync} replays it): params = model, adapter and
 * settings; metrics at step 0 = {@code task/metric}, {@code task/metric_stderr}, {@code task/examples_per_second};
 * artifacts = the variant's output folder (results.json, report.md, charts, samples, answers). The run's
 * journal lives in that folder.
 */
public final class MlflowEvalTracker implements EvalTracker {
    private final Tracker tracker;

    public MlflowEvalTracker(TrackingSettings settings) {
        this.tracker = new Tracker(settings);
    }

    @Override
    public void logRun(EvalReport report, Path artifactsDir) {
        RunSpec spec = RunSpec.of(artifactsDir, "eval-" + report.label()).withMethod("eval").withBaseModel(report.model());
        if (report.adapter() != null) {
            spec = spec.withAdapterType("lora").withTag("adapter", report.adapter());
        }
        try (TrackedRun run = tracker.start(spec)) {
            run.logParams(ReportJson.params(report));
            Map<String, Double> metrics = new LinkedHashMap<>();
            report.flatMetrics().forEach((k, v) -> {
                if (Double.isFinite(v)) {
                    metrics.put(k, v);
                }
            });
            run.logMetrics(metrics, 0);
            run.logArtifacts(artifactsDir, "");
            run.finish();
        }
    }
}
