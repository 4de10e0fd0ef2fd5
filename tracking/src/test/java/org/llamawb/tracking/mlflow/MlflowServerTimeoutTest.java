package org.llamawb.tracking.mlflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The MLflow Java client has no timeouts of its own; ours must apply. A socket that accepts connections
 * but never answers stands in for a hung server, a closed port for a dead one.
 */
class MlflowServerTimeoutTest {

    private static final MlflowTimeouts SHORT =
            new MlflowTimeouts(Duration.ofMillis(500), Duration.ofMillis(700), Duration.ofMillis(700));

    @Test
    void aHungServerTimesOutAsUncertain() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                MlflowServer server = MlflowServer.connect(URI.create("http://127.0.0.1:" + silent.getLocalPort()),
                        SHORT)) {
            long t0 = System.nanoTime();
            MlflowCallException e = assertThrows(MlflowCallException.class, () -> server.logBatch("r",
                    List.of(new MetricPoint("loss", 1, 1, 1)), Map.of(), Map.of()));
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertEquals(MlflowCallException.Kind.UNCERTAIN, e.kind(), e.getMessage());
            // One attempt with a 0.7 s read timeout: well under the client's default of forever.
            assertTrue(seconds < 10, "took " + seconds + " s");
        }
    }

    @Test
    void aClosedPortIsUnreachable() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (MlflowServer server = MlflowServer.connect(URI.create("http://127.0.0.1:" + port), SHORT)) {
            MlflowCallException e = assertThrows(MlflowCallException.class, () -> server.experimentId("x"));
            assertEquals(MlflowCallException.Kind.UNREACHABLE, e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains("server not reachable"), e.getMessage());
            assertEquals(1, e.getMessage().lines().count());
        }
    }

    @Test
    void artifactRootsOfTheProxyAreUnderstood() {
        assertEquals("1/abc/artifacts", MlflowServer.artifactRootOf("mlflow-artifacts:/1/abc/artifacts"));
        assertEquals("1/abc/artifacts", MlflowServer.artifactRootOf("mlflow-artifacts://host:5000/1/abc/artifacts/"));
        assertEquals("1/abc/artifacts", MlflowServer.artifactRootOf(
                "http://host:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts"));
        MlflowCallException e = assertThrows(MlflowCallException.class,
                () -> MlflowServer.artifactRootOf("/srv/mlruns/1/abc/artifacts"));
        assertEquals(MlflowCallException.Kind.REJECTED, e.kind());
    }
}
