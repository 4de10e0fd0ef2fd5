package org.llamawb.tracking.mlflow;

/**
 * One value of a metric. MLflow keys a stored value by all four fields, so resending an identical point
 * is recognisable as a duplicate.
 *
 * @param timestamp milliseconds since the epoch, when it was logged
 */
public record MetricPoint(String key, double value, long step, long timestamp) {
    public MetricPoint {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("metric key must not be empty");
        }
    }

    /** Equality as MLflow stores it: NaN equals NaN (Double.compare), unlike {@code ==}. */
    public boolean sameAs(MetricPoint o) {
        return key.equals(o.key) && step == o.step && timestamp == o.timestamp
                && Double.compare(value, o.value) == 0;
    }
}
