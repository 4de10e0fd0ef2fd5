package org.llamawb.tracking.mlflow;

import java.util.List;
import java.util.Map;

/**
 * A run as the server reports it.
 *
 * @param status RUNNING, SCHEDULED, FINISHED, FAILED or KILLED
 * @param endTime 0 while running
 * @param latestMetrics the last value of each metric (highest step, then latest timestamp)
 */
public record RemoteRun(String runId, String experimentId, String name, String status, long startTime,
        long endTime, String artifactUri, Map<String, String> params, Map<String, String> tags,
        Map<String, MetricPoint> latestMetrics, List<MlflowDataset> inputs) {
    public RemoteRun {
        params = Map.copyOf(params);
        tags = Map.copyOf(tags);
        latestMetrics = Map.copyOf(latestMetrics);
        inputs = List.copyOf(inputs);
    }
}
