package org.llamawb.tracking.mlflow;

import java.util.Map;

/**
 * A dataset input of a run as MLflow's {@code runs/log-inputs} takes it.
 *
 * @param sourceType e.g. {@code local}, {@code http}, {@code hf}
 * @param source JSON text describing where it came from, e.g. {@code {"uri": "/data/train.jsonl"}}
 * @param profile JSON text, e.g. {@code {"num_rows": 1200}}
 * @param schema JSON text or empty
 * @param tags input tags, e.g. {@code mlflow.data.context=training}
 */
public record MlflowDataset(String name, String digest, String sourceType, String source, String profile,
        String schema, Map<String, String> tags) {
    public MlflowDataset {
        if (name == null || name.isBlank() || digest == null || digest.isBlank()) {
            throw new IllegalArgumentException("dataset needs a name and a digest");
        }
        sourceType = sourceType == null ? "" : sourceType;
        source = source == null ? "" : source;
        profile = profile == null ? "" : profile;
        schema = schema == null ? "" : schema;
        tags = Map.copyOf(tags == null ? Map.of() : tags);
    }
}
