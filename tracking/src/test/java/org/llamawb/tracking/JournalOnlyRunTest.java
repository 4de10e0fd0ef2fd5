package org.llamawb.tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** No tracking URI: everything goes to the journal, nothing anywhere else, and the user is told how to sync. */
class JournalOnlyRunTest {

    @TempDir
    Path dir;

    private final List<String> notices = new ArrayList<>();

    private Tracker tracker() {
        return new Tracker(TrackingSettings.journalOnly("offline").withSystemMetricsInterval(Duration.ZERO)
                .withNotices(notices::add));
    }

    private static List<JournalEvent> read(Path out) throws Exception {
        return new RunJournal.Cursor(out.resolve("tracking/journal.jsonl"), 0).next(Integer.MAX_VALUE);
    }

    @Test
    void journalsEveryEventAndSaysHowToSync() throws Exception {
        Path out = dir.resolve("run-a");
        TrackedRun run = tracker().start(RunSpec.of(out, "run-a").withMethod("sft").withGitCommit("a".repeat(40)));
        run.logParams(Map.of("train.lr", 0.001));
        run.logParam("bad key?", "x");
        for (int step = 1; step <= 3; step++) {
            run.logMetric("loss", 2.0 / step, step);
        }
        run.setTag("note", "hello");
        run.finish();

        assertEquals(Optional.empty(), run.mlflowRunId());
        assertEquals(Optional.empty(), run.trackingUri());
        List<JournalEvent> events = read(out);
        assertEquals(8, events.size());
        JournalEvent.Started start = (JournalEvent.Started) events.get(0);
        assertEquals("offline", start.experiment());
        assertEquals("run-a", start.runName());
        assertEquals("sft", start.tags().get("method"));
        assertEquals("a".repeat(40), start.tags().get("mlflow.source.git.commit"));
        assertEquals("run-a", start.tags().get("mlflow.runName"));
        assertEquals(new JournalEvent.Param(2, "train.lr", "0.001"), events.get(1));
        assertEquals("bad key_", ((JournalEvent.Param) events.get(2)).key());
        assertEquals(List.of(2.0, 1.0, 2.0 / 3), events.subList(3, 6).stream()
                .map(e -> ((JournalEvent.Metric) e).value()).toList());
        assertEquals(new JournalEvent.Tag(7, "note", "hello"), events.get(6));
        assertEquals("FINISHED", ((JournalEvent.Status) events.get(7)).status());
        assertEquals(8, run.pendingEvents());

        assertTrue(notices.get(0).contains("no tracking URI"), notices.toString());
        assertTrue(notices.get(0).contains("workbench runs sync --dir " + out.toAbsolutePath()), notices.toString());
        assertTrue(notices.get(0).contains("mlflow server --host 127.0.0.1 --port 5000"), notices.toString());
    }

    @Test
    void resumingTheSameDirectoryContinuesTheSameJournalAndRun() throws Exception {
        Path out = dir.resolve("run-b");
        TrackedRun first = tracker().start(RunSpec.of(out, "first-name"));
        first.logMetric("loss", 1.0, 1);
        first.logMetric("system/cpu_utilization_percentage", 5, 7);
        first.close(); // no finish(): FAILED with the reason in a tag

        TrackedRun second = tracker().start(RunSpec.of(out, "ignored-name"));
        assertEquals("first-name", second.runName());
        second.logMetric("loss", 0.5, 2);
        second.finish();

        List<JournalEvent> events = read(out);
        for (int i = 0; i < events.size(); i++) {
            assertEquals(i + 1, events.get(i).seq());
        }
        assertEquals(1, events.stream().filter(e -> e instanceof JournalEvent.Started).count());
        assertTrue(events.contains(new JournalEvent.Tag(4, "error",
                "IllegalStateException: the run was closed without finish()")), events.toString());
        assertEquals(List.of("FAILED", "RUNNING", "FINISHED"), events.stream()
                .filter(e -> e instanceof JournalEvent.Status).map(e -> ((JournalEvent.Status) e).status()).toList());
    }

    @Test
    void aLiveRunDirectoryCannotBeStartedTwice() {
        Path out = dir.resolve("run-c");
        TrackedRun run = tracker().start(RunSpec.of(out, "c"));
        TrackingException e = assertThrows(TrackingException.class, () -> tracker().start(RunSpec.of(out, "c")));
        assertTrue(e.getMessage().contains("in use by another live run"), e.getMessage());
        run.finish();
        tracker().start(RunSpec.of(out, "c")).finish();
    }

    @Test
    void longParamsBecomeArtifactsAndArtifactsOutsideTheRunAreCopiedIn() throws Exception {
        Path out = dir.resolve("run-d");
        Path outside = Files.writeString(dir.resolve("recipe.yaml"), "method: sft\n");
        TrackedRun run = tracker().start(RunSpec.of(out, "d"));
        String longValue = "x".repeat(TrackedRun.MAX_PARAM_VALUE + 1);
        run.logParam("data.template", longValue);
        run.logArtifact(outside, "");
        Files.writeString(outside, "changed later\n");
        run.finish();

        List<JournalEvent> events = read(out);
        JournalEvent.Artifact longParam = (JournalEvent.Artifact) events.get(1);
        assertEquals("params/data.template.txt", longParam.artifactPath());
        assertEquals(longValue, Files.readString(out.resolve(longParam.localPath())));
        JournalEvent.Param p = (JournalEvent.Param) events.get(2);
        assertEquals("[6001 characters, see artifact params/data.template.txt]", p.value());
        JournalEvent.Artifact recipe = (JournalEvent.Artifact) events.get(3);
        assertEquals("recipe.yaml", recipe.artifactPath());
        assertFalse(Path.of(recipe.localPath()).isAbsolute(), recipe.localPath());
        assertEquals("method: sft\n", Files.readString(out.resolve(recipe.localPath())));
    }
}
