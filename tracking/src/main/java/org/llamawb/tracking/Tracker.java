package org.llamawb.tracking;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.llamawb.tracking.mlflow.MlflowServer;

/**
 * Starts tracked runs. One per command; it holds only settings.
 *
 * <pre>{@code
 * Tracker tracker = new Tracker(TrackingSettings.resolve(flagUri, recipe.tracking().uri(), experiment));
 * try (TrackedRun run = tracker.start(RunSpec.of(outDir, "sft-r8").withMethod("sft"))) {
 *     run.logParams(Params.flatten(Map.of("recipe", recipe, "model", modelConfig)));
 *     for (...) run.logMetrics(Map.of("loss", loss, "learning_rate", lr), step);
 *     run.logArtifacts(adapterDir, "adapter");
 *     run.finish();
 * }   // an exception before finish() ends the run as FAILED
 * }</pre>
 */
public final class Tracker implements Tracking {

    private final TrackingSettings settings;

    public Tracker(TrackingSettings settings) {
        this.settings = settings;
    }

    public TrackingSettings settings() {
        return settings;
    }

    /**
     * Starts a run, or resumes it when {@code spec.outputDir()} already has a journal (the same MLflow run
     * continues; name, experiment and start time are the journal's). Never contacts the server here.
     *
     * @throws TrackingException when another live process holds the run directory
     */
    @Override
    public TrackedRun start(RunSpec spec) {
        RunFiles files = new RunFiles(spec.outputDir());
        FileChannel channel = null;
        try {
            Files.createDirectories(files.dir());
            channel = FileChannel.open(files.lock(), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock = tryLock(channel);
            if (lock == null) {
                throw new TrackingException(files.outputDir() + ": the run directory is in use by another live run");
            }
            boolean resume = RunFiles.hasJournal(files.outputDir());
            RunJournal journal = RunJournal.open(files.journal());
            String runName;
            long firstSystemStep = 0;
            if (resume) {
                JournalEvent.Started start = RunJournal.readStart(files.journal());
                runName = start.runName();
                firstSystemStep = lastSystemStep(files.journal()) + 1;
                long now = System.currentTimeMillis();
                journal.append(seq -> new JournalEvent.Status(seq, "RUNNING", now));
            } else {
                runName = spec.runName();
                var tags = spec.mlflowTags(gitCommit());
                long now = spec.startTime() != null ? spec.startTime().toEpochMilli() : System.currentTimeMillis();
                String id = UUID.randomUUID().toString();
                journal.append(seq -> new JournalEvent.Started(seq, now, id, settings.experiment(), spec.runName(), tags));
            }
            MlflowServer server = settings.trackingUri()
                    .map(u -> MlflowServer.connect(u, settings.timeouts())).orElse(null);
            if (server == null) {
                settings.notices().accept("tracking: no tracking URI (--tracking-uri, recipe tracking.uri or "
                        + TrackingSettings.ENV_URI + "); run '" + runName + "' is journaled locally only, in "
                        + files.journal() + ". " + howToSync(files.outputDir()));
            }
            return new TrackedRun(files, journal, runName, settings, channel, lock, server, firstSystemStep);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new TrackingException(files.dir() + ": cannot write the run journal (" + e.getMessage() + ")", e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    static FileLock tryLock(FileChannel channel) throws IOException {
        try {
            return channel.tryLock();
        } catch (OverlappingFileLockException heldByThisJvm) {
            return null;
        }
    }

    private static void closeQuietly(FileChannel c) {
        if (c != null) {
            try {
                c.close();
            } catch (IOException ignored) {
                // already failing
            }
        }
    }

    /** The largest step of a {@code system/} metric in the journal, or -1; resumed sampling goes on from it. */
    private static long lastSystemStep(Path journal) throws IOException {
        long last = -1;
        RunJournal.Cursor cursor = new RunJournal.Cursor(journal, 0);
        for (List<JournalEvent> chunk = cursor.next(10_000); !chunk.isEmpty(); chunk = cursor.next(10_000)) {
            for (JournalEvent e : chunk) {
                if (e instanceof JournalEvent.Metric m && m.key().startsWith("system/")) {
                    last = Math.max(last, m.step());
                }
            }
        }
        return last;
    }

    /** The commit checked out in the working directory, or null (no git, not a repository). */
    static String gitCommit() {
        try {
            Process p = new ProcessBuilder("git", "rev-parse", "HEAD").redirectErrorStream(true).start();
            p.getOutputStream().close();
            if (!p.waitFor(3, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return null;
            }
            String out = new String(p.getInputStream().readAllBytes()).trim();
            return p.exitValue() == 0 && out.matches("[0-9a-f]{40,64}") ? out : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The instructions printed when runs are journaled only. */
    static String howToSync(Path outputDir) {
        return "To see it in MLflow: pip install mlflow; mlflow server --host 127.0.0.1 --port 5000;"
                + " then: workbench runs sync --dir " + outputDir + " --tracking-uri http://127.0.0.1:5000";
    }
}
