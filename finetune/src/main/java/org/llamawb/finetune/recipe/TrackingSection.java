package org.llamawb.finetune.recipe;

/**
 * Where the run is recorded.
 *
 * @param uri MLflow tracking URI ({@code http://127.0.0.1:5000}); absent: MLFLOW_TRACKING_URI or journal only
 * @param experiment MLflow experiment name
 * @param runName run name (default: the output directory's name)
 */
public record TrackingSection(String uri, String experiment, String runName) {
    static TrackingSection defaults() {
        return new TrackingSection(null, null, null);
    }

    public TrackingSection {
        experiment = experiment == null ? "workbench" : experiment;
    }
}
