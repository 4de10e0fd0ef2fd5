/**
 * Run tracking for training and evaluation: {@link org.llamawb.tracking.Tracker} starts a
 * {@link org.llamawb.tracking.TrackedRun} that writes every event to a local write-ahead journal in the
 * run's output directory, and a background thread sends the journal to an MLflow tracking server in
 * batches. A server outage never slows or stops training; {@link org.llamawb.tracking.JournalSync}
 * replays journals later without duplicating anything. Training and evaluation log through the
 * {@link org.llamawb.tracking.RunLog} interface (a {@code TrackedRun}, or {@code RunLog.NONE}), and evaluation
 * starts its runs through {@link org.llamawb.tracking.Tracking}.
 */
package org.llamawb.tracking;
