package org.llamawb.finetune.recipe;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.llamawb.model.BadInputException;

/**
 * Where the run is recorded.
 *
 * @param uri MLflow tracking URI ({@code http://127.0.0.1:5000}); absent: MLFLOW_TRACKING_URI or journal only
 * @param experiment MLflow experiment name
 * @param runName run name (default: the output directory's name)
 * @param tags further MLflow tags of the run, e.g. {@code {chain: stories260k}} on every stage of an SFT → reward →
 *     PPO chain, so that {@code workbench runs compare --tag chain=stories260k} shows the stages together
 */
public record TrackingSection(String uri, String experiment, String runName, Map<String, String> tags) {
    /** What MLflow accepts in a tag key (its own check: alphanumerics, underscores, dashes, periods, spaces, slashes). */
    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9_\\-. /]{1,250}");
    /** Tags the workbench sets itself on every run. */
    private static final List<String> OWN = List.of("method", "base_model", "adapter_type");

    static TrackingSection defaults() {
        return new TrackingSection(null, null, null, null);
    }

    public TrackingSection {
        experiment = experiment == null ? "workbench" : experiment;
        Map<String, String> checked = new LinkedHashMap<>();
        if (tags != null) {
            for (Map.Entry<String, String> e : tags.entrySet()) {
                String k = e.getKey();
                if (k == null || !KEY.matcher(k).matches() || k.isBlank()) {
                    throw new BadInputException("tracking.tags: '" + k + "' is not a tag name MLflow takes (letters, "
                            + "digits, _ - . / and spaces, at most 250)");
                }
                if (k.startsWith("mlflow.") || OWN.contains(k)) {
                    throw new BadInputException("tracking.tags." + k + ": the workbench sets this tag itself; choose "
                            + "another name");
                }
                if (e.getValue() == null || e.getValue().isBlank()) {
                    throw new BadInputException("tracking.tags." + k + ": empty value (give the tag a value, or leave "
                            + "it out)");
                }
                checked.put(k, e.getValue());
            }
        }
        tags = java.util.Collections.unmodifiableMap(checked);
    }
}
