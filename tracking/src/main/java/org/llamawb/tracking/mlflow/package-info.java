/**
 * The MLflow tracking server over REST: tracking calls through {@code org.mlflow:mlflow-client} with
 * connect and read timeouts, artifacts over the server's {@code mlflow-artifacts} endpoints with
 * {@code java.net.http}. Failures are classified so callers can retry without duplicating values.
 */
package org.llamawb.tracking.mlflow;
