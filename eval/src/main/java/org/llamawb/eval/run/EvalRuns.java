package org.llamawb.eval.run;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.llamawb.eval.report.EvalReport;
import org.llamawb.eval.report.ReportJson;
import org.llamawb.eval.report.TaskResult;
import org.llamawb.eval.task.Task;
import org.llamawb.tracking.DatasetInput;
import org.llamawb.tracking.RunLog;
import org.llamawb.tracking.RunSpec;
import org.llamawb.tracking.Tracking;

/**
 * Logs each evaluated model variant as one tracked run (MLflow, through the tracking module's journal, so a
 * server outage loses nothing and {@code workbench runs sync} replays it): params = model, adapter and
 * settings; metrics at step 0 = {@code task/metric}, {@code task/metric_stderr}, {@code task/examples_per_second};
 * artifacts = the variant's output folder (results.json, report.md, charts, samples, answers); datasets =
 * each task's data file (context {@code eval}, rows = the examples evaluated). The run starts when the
 * evaluation did, so its duration is the evaluation's. The run's journal lives in that folder. The runs go
 * through the same {@link RunLog} interface training logs into.
 */
final class EvalRuns {
    private EvalRuns() {}

    /**
     * Logs one evaluated variant after the fact.
     *
     * @param tasks the tasks evaluated (their data files are the run's datasets)
     * @param started when the evaluation of this variant began (the run's start; it ends when logged)
     */
    static void log(Tracking tracking, EvalReport report, List<Task> tasks, Path artifactsDir, Instant started) {
        RunSpec spec = RunSpec.of(artifactsDir, "eval-" + report.label()).withMethod("eval").withBaseModel(report.model())
                .withStartTime(started);
        if (report.adapter() != null) {
            spec = spec.withAdapterType("lora").withTag("adapter", report.adapter());
        }
        try (RunLog run = tracking.start(spec)) {
            run.logParams(ReportJson.params(report));
            Map<String, Double> metrics = new LinkedHashMap<>();
            report.flatMetrics().forEach((k, v) -> {
                if (Double.isFinite(v)) {
                    metrics.put(k, v);
                }
            });
            run.logMetrics(metrics, 0);
            for (Task t : tasks) {
                if (Files.isRegularFile(t.data())) {
                    long rows = report.tasks().stream().filter(r -> r.task().equals(t.name())).mapToLong(TaskResult::examples)
                            .findFirst().orElse(-1);
                    try {
                        run.logInput(DatasetInput.ofFile(t.name(), t.data(), rows, "eval"));
                    } catch (IOException e) {
                        throw new UncheckedIOException("cannot read " + t.data() + " for its digest", e);
                    }
                }
            }
            run.logArtifacts(artifactsDir, "");
            run.finish();
        }
    }
}
