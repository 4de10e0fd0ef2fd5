package org.llamawb.tracking;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.util.Map;

/**
 * One line of a run journal (JSON, one event per line, in the order logged). {@code seq} numbers the
 * events 1, 2, 3, ... so that delivery can record "everything up to seq N is on the server".
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
    @JsonSubTypes.Type(value = JournalEvent.Started.class, name = "start"),
    @JsonSubTypes.Type(value = JournalEvent.Param.class, name = "param"),
    @JsonSubTypes.Type(value = JournalEvent.Metric.class, name = "metric"),
    @JsonSubTypes.Type(value = JournalEvent.Tag.class, name = "tag"),
    @JsonSubTypes.Type(value = JournalEvent.Input.class, name = "input"),
    @JsonSubTypes.Type(value = JournalEvent.Artifact.class, name = "artifact"),
    @JsonSubTypes.Type(value = JournalEvent.Status.class, name = "status")
})
sealed interface JournalEvent {

    long seq();

    /**
     * The first event: what is needed to create the run on a server.
     *
     * @param journalId a UUID, stored as a run tag so a replay finds the run it created before
     */
    record Started(long seq, long time, String journalId, String experiment, String runName,
            Map<String, String> tags) implements JournalEvent {}

    record Param(long seq, String key, String value) implements JournalEvent {}

    /** @param time milliseconds since the epoch when it was logged; part of MLflow's key for the value */
    record Metric(long seq, String key, double value, long step, long time) implements JournalEvent {}

    record Tag(long seq, String key, String value) implements JournalEvent {}

    /** A dataset input; {@code source}, {@code profile} and {@code schema} are JSON text. */
    record Input(long seq, String name, String digest, String sourceType, String source, String profile,
            String schema, String context) implements JournalEvent {}

    /**
     * A file or directory to upload.
     *
     * @param localPath relative to the run's output directory when inside it, else absolute
     * @param artifactPath where it goes under the run's artifact root ('/'-separated, "" for the root)
     */
    record Artifact(long seq, String localPath, String artifactPath) implements JournalEvent {}

    /** RUNNING (started or resumed), FINISHED, FAILED or KILLED. */
    record Status(long seq, String status, long time) implements JournalEvent {}
}
