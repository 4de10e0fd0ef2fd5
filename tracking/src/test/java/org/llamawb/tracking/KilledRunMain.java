package org.llamawb.tracking;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/** A training process to be killed by {@link KilledRunTest}: args = output dir [tracking URI]. */
public final class KilledRunMain {
    private KilledRunMain() {}

    public static void main(String[] args) throws Exception {
        TrackingSettings s = TrackingSettings.defaults(
                        args.length > 1 ? Optional.of(java.net.URI.create(args[1])) : Optional.empty(), "killed")
                .withSystemMetricsInterval(Duration.ZERO).withFlushInterval(Duration.ofMillis(100))
                .withNotices(n -> { });
        TrackedRun run = new Tracker(s).start(RunSpec.of(Path.of(args[0]), "killed"));
        for (int step = 0; step < 5; step++) {
            run.logMetric("loss", 1.0 / (step + 1), step);
        }
        if (args.length > 1) {
            run.awaitDelivery(Duration.ofSeconds(30));
        }
        System.out.println("ready " + run.mlflowRunId().orElse("-"));
        System.out.flush();
        Thread.sleep(120_000); // "training" until killed
    }
}
