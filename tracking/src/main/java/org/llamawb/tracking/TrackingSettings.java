package org.llamawb.tracking;

import java.io.PrintStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;
import org.llamawb.tracking.mlflow.MlflowTimeouts;

/**
 * Where and how runs are tracked.
 *
 * @param trackingUri the MLflow server, or empty to keep runs in their local journals only
 * @param experiment the MLflow experiment name (created when absent)
 * @param systemMetricsInterval how often to sample system metrics; zero turns them off
 * @param flushInterval how often the background sender looks for new journal events
 * @param closeGrace how long finishing a run may wait for the last events to reach the server
 * @param timeouts time limits of server calls
 * @param gpu GPU metrics source ({@link GpuProbe#NONE} on CPU)
 * @param notices where one-line messages for the user go (server down, how to sync, ...)
 */
public record TrackingSettings(Optional<URI> trackingUri, String experiment, Duration systemMetricsInterval,
        Duration flushInterval, Duration closeGrace, MlflowTimeouts timeouts, GpuProbe gpu,
        Consumer<String> notices) {

    public static final String DEFAULT_EXPERIMENT = "workbench";
    public static final String ENV_URI = "MLFLOW_TRACKING_URI";

    public TrackingSettings {
        if (trackingUri == null || experiment == null || experiment.isBlank()) {
            throw new IllegalArgumentException("tracking settings need a URI (or empty) and an experiment name");
        }
        requirePositiveOrZero("tracking system metrics interval", systemMetricsInterval);
        requirePositiveOrZero("tracking flush interval", flushInterval);
        requirePositiveOrZero("tracking close grace", closeGrace);
        if (flushInterval.isZero()) {
            throw new IllegalArgumentException("tracking flush interval must be positive");
        }
        if (timeouts == null || gpu == null || notices == null) {
            throw new IllegalArgumentException("tracking settings need timeouts, a GPU probe and a notice sink");
        }
    }

    private static void requirePositiveOrZero(String what, Duration d) {
        if (d == null || d.isNegative()) {
            throw new IllegalArgumentException(what + " must be zero or positive, got " + d);
        }
    }

    /**
     * The settings a command resolves: the first URI given among {@code --tracking-uri}, the recipe's
     * {@code tracking.uri} and the environment's MLFLOW_TRACKING_URI (each may be null or blank).
     *
     * @throws TrackingException for a URI that is not {@code http(s)://host[:port]}
     */
    public static TrackingSettings resolve(String flagUri, String recipeUri, String experiment) {
        String source = "--tracking-uri";
        String uri = flagUri;
        if (blank(uri)) {
            source = "tracking.uri";
            uri = recipeUri;
        }
        if (blank(uri)) {
            source = ENV_URI;
            uri = System.getenv(ENV_URI);
        }
        return defaults(blank(uri) ? Optional.empty() : Optional.of(parseUri(source, uri.trim())),
                blank(experiment) ? DEFAULT_EXPERIMENT : experiment.trim());
    }

    /** Defaults: system metrics every 10 s (as MLflow), delivery every second, 30 s to finish. */
    public static TrackingSettings defaults(Optional<URI> trackingUri, String experiment) {
        PrintStream err = System.err;
        return new TrackingSettings(trackingUri, experiment, Duration.ofSeconds(10), Duration.ofSeconds(1),
                Duration.ofSeconds(30), MlflowTimeouts.DEFAULT, GpuProbe.NONE, err::println);
    }

    /** Journal only: nothing is sent anywhere. */
    public static TrackingSettings journalOnly(String experiment) {
        return defaults(Optional.empty(), experiment);
    }

    /**
     * Parses a tracking URI given under {@code source} (a flag or key, named in the error).
     *
     * @throws TrackingException unless it is {@code http(s)://host[:port][/path]}
     */
    public static URI parseUri(String source, String text) {
        try {
            URI u = new URI(text);
            if (("http".equals(u.getScheme()) || "https".equals(u.getScheme())) && u.getHost() != null) {
                return u;
            }
        } catch (URISyntaxException e) {
            // fall through to the one-line message
        }
        throw new TrackingException(source + ": '" + text + "' is not an MLflow server URI; expected"
                + " http://host:port (start one with: mlflow server --host 127.0.0.1 --port 5000)");
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    public TrackingSettings withExperiment(String name) {
        return new TrackingSettings(trackingUri, name, systemMetricsInterval, flushInterval, closeGrace, timeouts,
                gpu, notices);
    }

    public TrackingSettings withSystemMetricsInterval(Duration d) {
        return new TrackingSettings(trackingUri, experiment, d, flushInterval, closeGrace, timeouts, gpu, notices);
    }

    public TrackingSettings withFlushInterval(Duration d) {
        return new TrackingSettings(trackingUri, experiment, systemMetricsInterval, d, closeGrace, timeouts, gpu,
                notices);
    }

    public TrackingSettings withCloseGrace(Duration d) {
        return new TrackingSettings(trackingUri, experiment, systemMetricsInterval, flushInterval, d, timeouts, gpu,
                notices);
    }

    public TrackingSettings withTimeouts(MlflowTimeouts t) {
        return new TrackingSettings(trackingUri, experiment, systemMetricsInterval, flushInterval, closeGrace, t, gpu,
                notices);
    }

    public TrackingSettings withGpu(GpuProbe probe) {
        return new TrackingSettings(trackingUri, experiment, systemMetricsInterval, flushInterval, closeGrace,
                timeouts, probe, notices);
    }

    public TrackingSettings withNotices(Consumer<String> sink) {
        return new TrackingSettings(trackingUri, experiment, systemMetricsInterval, flushInterval, closeGrace,
                timeouts, gpu, sink);
    }
}
