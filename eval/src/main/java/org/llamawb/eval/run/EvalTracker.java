package org.llamawb.eval.run;

import java.nio.file.Path;
import org.llamawb.eval.report.EvalReport;

/**
 * Where evaluation results are logged besides the output folder: one run per model variant with its
 * settings as params, metrics named {@code task/metric} (and {@code task/metric_stderr}), and the files of
 * its output folder (results.json, report.md, charts, samples) as artifacts. The MLflow implementation
 * comes from the tracking module; {@link #NONE} logs nothing.
 */
@FunctionalInterface
public interface EvalTracker {
    EvalTracker NONE = (report, dir) -> { };

    void logRun(EvalReport report, Path artifactsDir);
}
