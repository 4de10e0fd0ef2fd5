package org.llamawb.tracking;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.llamawb.tracking.mlflow.MlflowCallException;
import org.llamawb.tracking.mlflow.MlflowServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A live run. Every call appends to the run's journal and returns at once; a background thread sends the
 * journal to MLflow. None of these methods throws because of the server, and none waits for it.
 *
 * <p>End it with {@link #finish()} (FINISHED) or {@link #fail(Throwable)} (FAILED, the error in the
 * {@code error} tag); {@link #close()} without either ends it as FAILED, and Ctrl-C (a JVM shutdown)
 * ends it as KILLED. Metric names follow transformers/TRL: {@code loss}, {@code grad_norm},
 * {@code learning_rate}, {@code epoch}, {@code eval_loss}, {@code rewards/chosen}, ...
 */
public final class TrackedRun implements RunLog {

    /** MLflow's limit on a param value; longer values go to an artifact. */
    static final int MAX_PARAM_VALUE = 6000;
    /** MLflow's limit on a tag value; longer values are cut. */
    static final int MAX_TAG_VALUE = 8000;
    private static final Pattern BAD_KEY_CHARS = Pattern.compile("[^/\\w.\\- :]");

    private static final Logger LOG = LoggerFactory.getLogger(TrackedRun.class);
    /** How long ending a run waits for a server that the sender found down. */
    static final Duration UNREACHABLE_GRACE = Duration.ofSeconds(3);

    private final RunFiles files;
    private final RunJournal journal;
    private final String runName;
    private final TrackingSettings settings;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final MlflowServer server;
    private final JournalDelivery delivery;
    private final BackgroundSender sender;
    private final ScheduledExecutorService sampler;
    private final AtomicLong systemSamples = new AtomicLong();
    private final Thread killHook;
    private Runnable finalSample = () -> {};
    private long appendsSinceWake;
    private volatile boolean ended;
    private boolean warnedEnded;

    TrackedRun(RunFiles files, RunJournal journal, String runName, TrackingSettings settings, FileChannel lockChannel,
            FileLock lock, MlflowServer server, long firstSystemStep) throws IOException {
        this.files = files;
        this.journal = journal;
        this.runName = runName;
        this.settings = settings;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.server = server;
        if (server != null) {
            this.delivery = new JournalDelivery(files, server);
            this.sender = new BackgroundSender(delivery, journal::lastSeq, settings.flushInterval(), settings.notices(),
                    runName);
            sender.start();
        } else {
            this.delivery = null;
            this.sender = null;
        }
        this.sampler = settings.systemMetricsInterval().isZero() ? null : startSampler(firstSystemStep);
        this.killHook = new Thread(() -> end("KILLED", null, true), "tracking-kill-" + runName);
        Runtime.getRuntime().addShutdownHook(killHook);
    }

    private ScheduledExecutorService startSampler(long firstStep) {
        ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tracking-system-metrics-" + runName);
            t.setDaemon(true);
            return t;
        });
        SystemMetrics metrics = new SystemMetrics(settings.gpu());
        long[] step = {firstStep};
        long every = settings.systemMetricsInterval().toMillis();
        s.scheduleAtFixedRate(() -> {
            try {
                logMetrics(metrics.read(), step[0]++);
                systemSamples.incrementAndGet();
            } catch (RuntimeException e) {
                LOG.warn("system metrics sample failed: {}", e.toString());
            }
        }, Math.min(every, 1000), every, TimeUnit.MILLISECONDS); // a first sample soon, so short runs have one too
        finalSample = () -> {
            if (systemSamples.get() == 0) { // a run shorter than the first interval still gets one sample
                try {
                    logMetrics(metrics.read(), step[0]);
                } catch (RuntimeException e) {
                    LOG.warn("system metrics sample failed: {}", e.toString());
                }
            }
        };
        return s;
    }

    public String runName() {
        return runName;
    }

    public Path outputDir() {
        return files.outputDir();
    }

    /** The run's local journal (JSON lines). */
    public Path journalFile() {
        return files.journal();
    }

    /** The server runs go to; empty when journaling only. */
    public Optional<URI> trackingUri() {
        return Optional.ofNullable(server).map(MlflowServer::uri);
    }

    /** The MLflow run id, once the server has created the run (empty while unreachable or journal-only). */
    public Optional<String> mlflowRunId() {
        return Optional.ofNullable(delivery).map(JournalDelivery::runId);
    }

    /** Journal events not yet acknowledged by the server (all of them when journaling only). */
    public long pendingEvents() {
        return journal.lastSeq() - (delivery == null ? 0 : delivery.acked());
    }

    // ---- logging ----------------------------------------------------------------------------------

    @Override
    public void logParam(String key, Object value) {
        logParams(Map.of(key, value == null ? "null" : value));
    }

    /**
     * Logs params (use {@link Params#flatten} for nested configurations). A value longer than MLflow's
     * 6,000 characters is saved as the artifact {@code params/<key>.txt} and the param names it.
     */
    @Override
    public void logParams(Map<String, ?> params) {
        if (endedCheck()) {
            return;
        }
        params.forEach((k, v) -> {
            String key = key(k);
            String value = String.valueOf(v);
            if (value.length() > MAX_PARAM_VALUE) {
                String artifact = "params/" + key.replace('/', '_').replace(' ', '_') + ".txt";
                Path copy = files.staged().resolve(artifact);
                try {
                    Files.createDirectories(copy.getParent());
                    Files.writeString(copy, value, StandardCharsets.UTF_8);
                    journal.append(seq -> new JournalEvent.Artifact(seq, files.reference(copy), artifact));
                } catch (IOException e) {
                    LOG.warn("cannot save long param {} as an artifact: {}", key, e.toString());
                }
                value = "[" + value.length() + " characters, see artifact " + artifact + "]";
            }
            String stored = value;
            append(seq -> new JournalEvent.Param(seq, key, stored));
        });
    }

    @Override
    public void logMetric(String key, double value, long step) {
        if (endedCheck()) {
            return;
        }
        String k = key(key);
        long now = System.currentTimeMillis();
        append(seq -> new JournalEvent.Metric(seq, k, value, step, now));
    }

    /** Logs several metrics at one step, all with the same timestamp. */
    @Override
    public void logMetrics(Map<String, ? extends Number> metrics, long step) {
        if (endedCheck()) {
            return;
        }
        long now = System.currentTimeMillis();
        metrics.forEach((key, v) -> {
            String k = key(key);
            double value = v.doubleValue();
            append(seq -> new JournalEvent.Metric(seq, k, value, step, now));
        });
    }

    @Override
    public void setTag(String key, String value) {
        if (endedCheck()) {
            return;
        }
        tag(key, value);
    }

    private void tag(String key, String value) {
        String k = key(key);
        String v = value == null ? "" : value.length() > MAX_TAG_VALUE
                ? value.substring(0, MAX_TAG_VALUE - 3) + "..." : value;
        append(seq -> new JournalEvent.Tag(seq, k, v));
    }

    @Override
    public void logInput(DatasetInput in) {
        if (endedCheck()) {
            return;
        }
        append(seq -> new JournalEvent.Input(seq, in.name(), in.digest(), in.sourceType(), in.sourceJson(),
                in.profileJson(), "", in.context()));
    }

    /**
     * Logs a file as {@code artifactDir/<file name>} ({@code ""}: the artifact root). A file outside the
     * output directory is copied into it first, so a later sync still has it; a file inside is uploaded
     * as it is when sent.
     */
    @Override
    public void logArtifact(Path file, String artifactDir) {
        if (endedCheck()) {
            return;
        }
        if (!Files.isRegularFile(file)) {
            LOG.warn("artifact {} is not a file; not logged", file);
            return;
        }
        String target = join(artifactDir, file.getFileName().toString());
        Path local = stageIfOutside(file, target);
        append(seq -> new JournalEvent.Artifact(seq, files.reference(local), target));
    }

    /** Logs a directory's contents (recursively) under {@code artifactDir}, e.g. an adapter directory. */
    @Override
    public void logArtifacts(Path dir, String artifactDir) {
        if (endedCheck()) {
            return;
        }
        if (!Files.isDirectory(dir)) {
            LOG.warn("artifact directory {} does not exist; not logged", dir);
            return;
        }
        String target = join(artifactDir, "");
        Path local = stageIfOutside(dir, target.isEmpty() ? "root" : target);
        append(seq -> new JournalEvent.Artifact(seq, files.reference(local), target));
    }

    /** Saves text (e.g. sample generations as JSONL, an eval report) as the artifact {@code artifactPath}. */
    @Override
    public void logText(String text, String artifactPath) {
        if (endedCheck()) {
            return;
        }
        String target = join(artifactPath, "");
        Path copy = files.staged().resolve(target);
        try {
            Files.createDirectories(copy.getParent());
            Files.writeString(copy, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            LOG.warn("cannot save text artifact {}: {}", target, e.toString());
            return;
        }
        append(seq -> new JournalEvent.Artifact(seq, files.reference(copy), target));
    }

    private Path stageIfOutside(Path path, String target) {
        Path abs = path.toAbsolutePath().normalize();
        if (abs.startsWith(files.outputDir())) {
            return abs;
        }
        Path copy = files.staged().resolve(target).normalize();
        try {
            if (Files.isDirectory(abs)) {
                try (Stream<Path> walk = Files.walk(abs)) {
                    for (Path p : (Iterable<Path>) walk::iterator) {
                        Path dst = copy.resolve(abs.relativize(p).toString());
                        if (Files.isDirectory(p)) {
                            Files.createDirectories(dst);
                        } else {
                            Files.copy(p, dst, StandardCopyOption.REPLACE_EXISTING);
                        }
                    }
                }
            } else {
                Files.createDirectories(copy.getParent());
                Files.copy(abs, copy, StandardCopyOption.REPLACE_EXISTING);
            }
            return copy;
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("cannot copy artifact {} into the run directory ({}); it will be read from where it is", path,
                    e.toString());
            return abs;
        }
    }

    private static String join(String dir, String name) {
        String d = dir == null ? "" : dir.replace('\\', '/').replaceAll("^/+|/+$", "");
        String p = d.isEmpty() ? name : name.isEmpty() ? d : d + "/" + name;
        for (String s : p.split("/")) {
            if (s.equals("..") || s.equals(".")) {
                throw new IllegalArgumentException("artifact path must not contain . or .. segments: " + p);
            }
        }
        return p;
    }

    private void append(java.util.function.LongFunction<? extends JournalEvent> event) {
        journal.append(event);
        // Wake the sender early when a full request's worth is waiting, instead of at the next tick.
        if (sender != null && ++appendsSinceWake >= JournalDelivery.MAX_VALUES) {
            appendsSinceWake = 0;
            sender.wake();
        }
    }

    private static String key(String k) {
        String clean = BAD_KEY_CHARS.matcher(k == null ? "" : k.trim()).replaceAll("_");
        return clean.isEmpty() ? "_" : clean;
    }

    private boolean endedCheck() {
        if (ended) {
            if (!warnedEnded) {
                warnedEnded = true;
                LOG.warn("run {} has ended; further values are not logged", runName);
            }
            return true;
        }
        return false;
    }

    // ---- ending -----------------------------------------------------------------------------------

    /** Ends the run as FINISHED and waits (at most the close grace) for the journal to reach the server. */
    @Override
    public void finish() {
        end("FINISHED", null, false);
    }

    /** Ends the run as FAILED, with the error's class and message in the {@code error} tag. */
    @Override
    public void fail(Throwable error) {
        end("FAILED", error, false);
    }

    /** Ends the run as FAILED unless {@link #finish()} or {@link #fail} ended it already. */
    @Override
    public void close() {
        end("FAILED", new IllegalStateException("the run was closed without finish()"), false);
    }

    private synchronized void end(String status, Throwable error, boolean fromHook) {
        if (ended) {
            return;
        }
        if (sampler != null) {
            sampler.shutdownNow();
            try {
                if (sampler.awaitTermination(2, TimeUnit.SECONDS)) {
                    finalSample.run();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (error != null) {
            tag("error", (error.getClass().getSimpleName() + ": " + error.getMessage()).replaceAll("\\s+", " "));
        }
        long now = System.currentTimeMillis();
        journal.append(seq -> new JournalEvent.Status(seq, status, now));
        ended = true;
        if (!fromHook) {
            try {
                Runtime.getRuntime().removeShutdownHook(killHook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or about to; it will find the run ended
            }
        }
        Duration grace = fromHook ? min(settings.closeGrace(), Duration.ofSeconds(5)) : settings.closeGrace();
        if (sender != null) {
            // A server known to be down gets a few seconds, not the full grace (which is for a live server
            // taking the last uploads, however slowly): the journal keeps everything for `runs sync`.
            Duration wait = sender.serverDown() ? min(grace, UNREACHABLE_GRACE) : grace;
            sender.stop(wait);
            if (!sender.isAlive() && !sender.serverDown()) {
                drain(); // one last round for what the sender had not sent yet
            } else {
                MlflowCallException last = sender.lastFailure();
                keptInJournal(last != null ? last.getMessage() : "no answer within " + wait.toSeconds() + " s");
            }
            server.close();
        } else {
            settings.notices().accept("tracking: run '" + runName + "' " + status + "; journal at " + files.journal()
                    + " (no tracking server). " + Tracker.howToSync(files.outputDir()));
        }
        try {
            journal.close();
            lock.release();
            lockChannel.close();
        } catch (IOException e) {
            LOG.warn("closing the run journal {}: {}", files.journal(), e.toString());
        }
    }

    /** One last synchronous delivery round; says where the run is, or how to send the rest. */
    private void drain() {
        String where = JournalDelivery.serverKey(server);
        try {
            delivery.deliver(Long.MAX_VALUE);
        } catch (IOException | RuntimeException e) {
            keptInJournal(e.getMessage());
            return;
        }
        settings.notices().accept("tracking: run '" + runName + "' is at " + where + "/#/experiments/"
                + delivery.experimentId() + "/runs/" + delivery.runId());
    }

    /** Says what stayed in the journal and the command that sends it. */
    private void keptInJournal(String why) {
        String where = JournalDelivery.serverKey(server);
        settings.notices().accept("tracking: " + pendingEvents() + " events of run '" + runName + "' are not on "
                + where + " yet (" + why + "); they are kept in " + files.journal()
                + "; send them with: workbench runs sync --dir " + files.outputDir() + " --tracking-uri " + where);
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /**
     * Waits until the server has acknowledged everything journaled so far, or the timeout passes.
     * Returns whether it has. Training never needs this; tests and evaluation reports may.
     */
    public boolean awaitDelivery(Duration timeout) throws InterruptedException {
        if (sender == null) {
            return false;
        }
        if (ended) {
            return delivery.acked() >= journal.lastSeq(); // nothing sends any more: waiting cannot help
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        long target = journal.lastSeq();
        while (delivery.acked() < target) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            sender.wake();
            Thread.sleep(50);
        }
        return true;
    }
}
