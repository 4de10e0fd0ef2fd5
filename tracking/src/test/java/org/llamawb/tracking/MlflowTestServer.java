package org.llamawb.tracking;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real MLflow server of the integration tests. {@code .ci/run} starts one and exports its URI as
 * {@value #URI_ENV}, and the {@code mlflow} executable as {@value #EXE_ENV} for tests that run (and kill)
 * a server of their own. Without them the integration tests are skipped, saying why.
 */
final class MlflowTestServer {
    private MlflowTestServer() {}

    static final String URI_ENV = "WORKBENCH_TEST_MLFLOW_URI";
    static final String EXE_ENV = "WORKBENCH_TEST_MLFLOW_EXE";

    static URI uri() {
        String u = System.getenv(URI_ENV);
        assumeTrue(u != null && !u.isBlank(), "no MLflow server for the integration tests: set " + URI_ENV
                + " to a running server's URI (.ci/run starts one and sets it)");
        return URI.create(u.trim());
    }

    static Path executable() {
        String e = System.getenv(EXE_ENV);
        assumeTrue(e != null && !e.isBlank() && Files.isExecutable(Path.of(e)), "no mlflow executable for the"
                + " server-outage test: set " + EXE_ENV + " (.ci/run installs MLflow and sets it)");
        return Path.of(e.trim());
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** An {@code mlflow server} process of the test's own, on a fixed store so it can be restarted. */
    static final class OwnServer implements AutoCloseable {
        private final Path exe;
        private final Path store;
        private final int port;
        private Process process;

        OwnServer(Path exe, Path store, int port) {
            this.exe = exe;
            this.store = store;
            this.port = port;
        }

        URI uri() {
            return URI.create("http://127.0.0.1:" + port);
        }

        /** Starts the server and waits until it answers /health (at most 120 s). */
        OwnServer start() throws IOException, InterruptedException {
            Files.createDirectories(store);
            ProcessBuilder pb = new ProcessBuilder(List.of(exe.toString(), "server", "--host", "127.0.0.1", "--port",
                    Integer.toString(port), "--workers", "1",
                    "--backend-store-uri", "sqlite:///" + store.resolve("mlflow.db").toAbsolutePath(),
                    "--artifacts-destination", store.resolve("artifacts").toAbsolutePath().toString()));
            // No background job runner: it is not needed and its processes outlive a kill -9 for a while.
            pb.environment().put("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false");
            process = pb.redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(store.resolve("server.log").toFile()))
                    .start();
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) {
                    throw new IllegalStateException("mlflow server exited with " + process.exitValue() + "; see "
                            + store.resolve("server.log") + ":\n" + tail());
                }
                try {
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri().resolve("/health"))
                            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() == 200) {
                        return this;
                    }
                } catch (IOException notYet) {
                    // still starting
                }
                Thread.sleep(250);
            }
            kill();
            throw new IllegalStateException("mlflow server did not answer on " + uri() + " within 120 s:\n" + tail());
        }

        private String tail() throws IOException {
            List<String> lines = Files.readAllLines(store.resolve("server.log"));
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        }

        /** kill -9 of the server and its workers (uvicorn runs them as child processes). */
        void kill() throws InterruptedException {
            if (process == null) {
                return;
            }
            List<ProcessHandle> all = process.descendants().toList();
            process.destroyForcibly();
            all.forEach(ProcessHandle::destroyForcibly);
            process.waitFor(30, TimeUnit.SECONDS);
            for (ProcessHandle h : all) {
                h.onExit().orTimeout(30, TimeUnit.SECONDS).exceptionally(t -> h).join();
            }
            process = null;
        }

        @Override
        public void close() throws InterruptedException {
            kill();
        }
    }
}
