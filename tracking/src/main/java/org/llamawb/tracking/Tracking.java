package org.llamawb.tracking;

/**
 * Starts the runs a command logs into: {@link Tracker} (journal, and MLflow when a server is set) or
 * {@link #NONE}. Evaluation starts one per evaluated variant; training's command starts its one run.
 */
@FunctionalInterface
public interface Tracking {
    /** Tracks nothing: every run is {@link RunLog#NONE}. */
    Tracking NONE = spec -> RunLog.NONE;

    RunLog start(RunSpec spec);
}
