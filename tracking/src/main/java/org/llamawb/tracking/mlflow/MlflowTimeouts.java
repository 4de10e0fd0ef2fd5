package org.llamawb.tracking.mlflow;

import java.time.Duration;

/**
 * Time limits for talking to the server; the MLflow Java client has none of its own, so a hung server
 * would otherwise hang the caller forever.
 *
 * @param connect how long to wait for a TCP connection
 * @param read how long to wait for a tracking call's response
 * @param artifact how long one artifact upload or download may take in all
 */
public record MlflowTimeouts(Duration connect, Duration read, Duration artifact) {

    public static final MlflowTimeouts DEFAULT =
            new MlflowTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofMinutes(10));

    public MlflowTimeouts {
        for (Duration d : new Duration[] {connect, read, artifact}) {
            if (d == null || d.isNegative() || d.isZero() || d.toMillis() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("MLflow timeouts must be positive and under 24 days, got " + d);
            }
        }
    }
}
