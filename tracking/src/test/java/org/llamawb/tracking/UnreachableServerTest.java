package org.llamawb.tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short run against a server that is not there (a closed port): ending the run takes a few seconds, not
 * the 30 s close grace, and says what stayed in the journal and the command that sends it.
 */
class UnreachableServerTest {
    @TempDir
    Path dir;

    /** Ends a two-step run with the default settings (30 s close grace, default timeouts); returns seconds. */
    double twoStepRun(URI uri, Path out, List<String> notices) throws Exception {
        TrackingSettings settings = TrackingSettings.defaults(Optional.of(uri), "unreachable")
                .withSystemMetricsInterval(Duration.ZERO).withNotices(notices::add);
        TrackedRun run = new Tracker(settings).start(RunSpec.of(out, "two-steps"));
        run.logParams(Map.of("train.max_steps", "2"));
        run.logMetrics(Map.of("loss", 2.0), 1);
        run.logMetrics(Map.of("loss", 1.5), 2);
        long t0 = System.nanoTime();
        run.finish();
        // before: FinetuneCommand then waited for delivery; with the sender stopped that took the whole 30 s
        assertFalse(run.awaitDelivery(Duration.ofSeconds(30)));
        double seconds = (System.nanoTime() - t0) / 1e9;
        run.close();
        return seconds;
    }

    static void assertSaysWhatStayed(List<String> notices, Path out, URI uri) {
        String last = notices.get(notices.size() - 1);
        assertTrue(last.matches("tracking: \\d+ events of run 'two-steps' are not on .*"), notices.toString());
        assertTrue(last.contains("they are kept in " + out.toAbsolutePath().resolve("tracking")), last);
        assertTrue(last.endsWith("send them with: workbench runs sync --dir " + out.toAbsolutePath()
                + " --tracking-uri " + uri), last);
        assertEquals(1, last.lines().count());
    }

    @Test
    void aClosedPortEndsTheRunAtOnce() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        URI uri = URI.create("http://127.0.0.1:" + port);
        List<String> notices = new CopyOnWriteArrayList<>();
        Path out = dir.resolve("closed");
        double seconds = twoStepRun(uri, out, notices);
        assertTrue(seconds < 5, "ending took " + seconds + " s");
        assertSaysWhatStayed(notices, out, uri);
    }
}
