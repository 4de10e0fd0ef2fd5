package org.llamawb.tracking;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where one run's record goes: params, metrics by step, tags, dataset inputs and artifacts, then how it ended.
 * Training logs into one as it goes and evaluation logs each evaluated variant into one; {@link TrackedRun}
 * (journal and MLflow) is the real one, {@link #NONE} keeps nothing. Metric names follow transformers/TRL
 * ({@code loss}, {@code grad_norm}, {@code learning_rate}, {@code eval_loss}) and lm-eval ({@code task/metric}).
 */
public interface RunLog extends AutoCloseable {
    /** Keeps nothing (an untracked evaluation, a warm-up). */
    RunLog NONE = new RunLog() {
        @Override
        public void logParams(Map<String, ?> params) { }

        @Override
        public void logMetrics(Map<String, ? extends Number> metrics, long step) { }

        @Override
        public void setTag(String key, String value) { }

        @Override
        public void logInput(DatasetInput in) { }

        @Override
        public void logArtifact(Path file, String artifactDir) { }

        @Override
        public void logArtifacts(Path dir, String artifactDir) { }

        @Override
        public void logText(String text, String artifactPath) { }

        @Override
        public void finish() { }

        @Override
        public void fail(Throwable error) { }

        @Override
        public void close() { }
    };

    default void logParam(String key, Object value) {
        logParams(Map.of(key, value == null ? "null" : value));
    }

    /** Params, e.g. a flattened recipe ({@link Params#flatten}). */
    void logParams(Map<String, ?> params);

    default void logMetric(String key, double value, long step) {
        logMetrics(Map.of(key, value), step);
    }

    /** Several metrics at one step. */
    void logMetrics(Map<String, ? extends Number> metrics, long step);

    void setTag(String key, String value);

    /** A dataset the run read (its name, digest and rows). */
    void logInput(DatasetInput in);

    /** A file, as {@code artifactDir/<file name>} ({@code ""}: the artifact root). */
    void logArtifact(Path file, String artifactDir);

    /** A directory's contents, recursively, under {@code artifactDir}. */
    void logArtifacts(Path dir, String artifactDir);

    /** Text saved as the artifact {@code artifactPath}. */
    void logText(String text, String artifactPath);

    /** Ends the run as FINISHED. */
    void finish();

    /** Ends the run as FAILED with {@code error}. */
    void fail(Throwable error);

    /** Ends the run as FAILED unless {@link #finish()} or {@link #fail} ended it already. */
    @Override
    void close();
}
