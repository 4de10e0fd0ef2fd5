package org.llamawb.tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.tracking.mlflow.MlflowServer;
import org.llamawb.tracking.mlflow.MlflowTimeouts;

/** Ctrl-C (or any JVM shutdown) in the middle of training ends the run as KILLED. */
class KilledRunTest {

    @TempDir
    Path dir;

    private static String killTrainingProcess(Path out, String uri) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), KilledRunMain.class.getName(), out.toString()));
        if (uri != null) {
            cmd.add(uri);
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        String ready = null;
        while ((line = r.readLine()) != null) {
            if (line.startsWith("ready ")) {
                ready = line.substring(6);
                break;
            }
        }
        assertTrue(ready != null, "the training process never got ready");
        p.destroy(); // SIGTERM: the JVM runs its shutdown hooks, as on Ctrl-C (SIGINT)
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the training process did not exit");
        return ready;
    }

    @Test
    void shutdownMidRunJournalsKilled() throws Exception {
        Path out = dir.resolve("killed");
        killTrainingProcess(out, null);
        List<JournalEvent> events = new RunJournal.Cursor(out.resolve("tracking/journal.jsonl"), 0).next(100);
        assertEquals(7, events.size());
        assertEquals("KILLED", ((JournalEvent.Status) events.get(6)).status());
    }

    @Test
    void shutdownMidRunMarksTheMlflowRunKilled() throws Exception {
        URI uri = MlflowTestServer.uri();
        Path out = dir.resolve("killed-tracked");
        String runId = killTrainingProcess(out, uri.toString());
        try (MlflowServer server = MlflowServer.connect(uri, MlflowTimeouts.DEFAULT)) {
            assertEquals("KILLED", server.getRun(runId).status());
            assertTrue(server.getRun(runId).endTime() > 0);
            assertEquals(5, server.metricHistory(runId, "loss").size());
        }
    }
}
