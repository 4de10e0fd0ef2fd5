package org.llamawb.tracking;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.llamawb.tracking.mlflow.MlflowCallException;
import org.llamawb.tracking.mlflow.MlflowServer;

/**
 * {@code workbench runs sync}: sends run journals that did not fully reach a server (journal-only runs,
 * runs during an outage). Replays are idempotent: what the server acknowledged is recorded per server
 * beside the journal and skipped, and what it may have received without acknowledging is checked
 * against the server first. A journal whose run is still live is left to that run's own sender.
 */
public final class JournalSync {
    private JournalSync() {}

    /**
     * What happened to one run directory.
     *
     * @param runId the MLflow run, or null when it could not be created
     * @param sent events acknowledged by this sync
     * @param total events in the journal
     * @param rejected events the server refused (skipped, with a warning each)
     * @param problem why it stopped early, or null when everything is on the server
     */
    public record Report(Path outputDir, String runName, String runId, long sent, long total, long rejected,
            String problem) {
        public boolean complete() {
            return problem == null;
        }
    }

    /** Run directories at or under {@code root} (those holding {@code tracking/journal.jsonl}), sorted. */
    public static List<Path> findRuns(Path root) throws IOException {
        if (!Files.isDirectory(root)) {
            throw new TrackingException(root + ": no such directory of runs");
        }
        try (Stream<Path> walk = Files.walk(root, 8)) {
            return walk.filter(p -> p.getFileName() != null && p.getFileName().toString().equals("journal.jsonl")
                            && p.getParent().getFileName().toString().equals(RunFiles.DIR))
                    .map(p -> p.getParent().getParent().toAbsolutePath().normalize())
                    .sorted().toList();
        }
    }

    /** Syncs every run under {@code root}. */
    public static List<Report> syncAll(Path root, MlflowServer server) throws IOException {
        List<Report> out = new ArrayList<>();
        for (Path run : findRuns(root)) {
            out.add(sync(run, server, Long.MAX_VALUE));
        }
        return out;
    }

    /** Sends at most {@code maxEvents} pending events of one run directory. */
    public static Report sync(Path outputDir, MlflowServer server, long maxEvents) throws IOException {
        RunFiles files = new RunFiles(outputDir);
        JournalEvent.Started start = RunJournal.readStart(files.journal());
        try (FileChannel channel = FileChannel.open(files.lock(), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            FileLock lock = Tracker.tryLock(channel);
            long total = lastSeq(files);
            if (lock == null) {
                return new Report(files.outputDir(), start.runName(), null, 0, total, 0,
                        "in use by a live run, which sends its own journal");
            }
            try {
                JournalDelivery delivery = new JournalDelivery(files, server);
                long before = delivery.acked();
                try {
                    long sent = delivery.deliver(maxEvents);
                    String problem = delivery.acked() < total ? (total - delivery.acked()) + " events left" : null;
                    return new Report(files.outputDir(), start.runName(), delivery.runId(), sent, total,
                            delivery.rejected(), problem);
                } catch (MlflowCallException e) {
                    return new Report(files.outputDir(), start.runName(), delivery.runId(),
                            delivery.acked() - before, total, delivery.rejected(), e.getMessage());
                }
            } finally {
                lock.release();
            }
        }
    }

    private static long lastSeq(RunFiles files) throws IOException {
        long last = 0;
        RunJournal.Cursor c = new RunJournal.Cursor(files.journal(), 0);
        for (List<JournalEvent> chunk = c.next(10_000); !chunk.isEmpty(); chunk = c.next(10_000)) {
            last = chunk.get(chunk.size() - 1).seq();
        }
        return last;
    }
}
