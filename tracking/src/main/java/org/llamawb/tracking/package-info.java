/**
 * Run tracking for training and evaluation: {@link org.llamawb.tracking.Tracker} starts a
 * {@link org.llamawb.tracking.TrackedRun} that writes every event to a local write-ahead journal in the
 * run's output directory, and a background thread sends the journal to an MLflow tracking server in
 * batches. A server outage never slows or stops training; {@link org.llamawb.tracking.JournalSync}
 * replays journals later without duplicating anything.
 */
package org.llamawb.tracking;
