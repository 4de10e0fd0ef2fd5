package org.llamawb.eval.run;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.llamawb.eval.report.EvalReport;
import org.llamawb.eval.task.Task;

/**
 * Where evaluation results are logged besides the output folder: one run per model variant with its
 * settings as params, metrics named {@code task/metric} (and {@code task/metric_stderr}), and the files of
 * its output folder (results.json, report.md, charts, samples) as artifacts, each task's data file as a
 * dataset input, and the time the evaluation took. The MLflow implementation comes from the tracking
 * module; {@link #NONE} logs nothing.
 */
@FunctionalInterface
public interface EvalTracker {
    EvalTracker NONE = (report, tasks, dir, started) -> { };

    /**
     * Logs one evaluated variant after the fact.
     *
     * @param tasks the tasks evaluated (their data files are the run's datasets)
     * @param started when the evaluation of this variant began (the run's start; it ends when logged)
     */
    void logRun(EvalReport report, List<Task> tasks, Path artifactsDir, Instant started);
}
