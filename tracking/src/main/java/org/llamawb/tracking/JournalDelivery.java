package org.llamawb.tracking;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.llamawb.tracking.mlflow.MetricPoint;
import org.llamawb.tracking.mlflow.MlflowCallException;
import org.llamawb.tracking.mlflow.MlflowDataset;
import org.llamawb.tracking.mlflow.MlflowServer;
import org.llamawb.tracking.mlflow.RemoteRun;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends one run journal to one MLflow server, in journal order, in as few requests as MLflow's limits
 * allow (≤ 1000 values per {@code log-batch}, ≤ 100 params, ≤ 100 tags), and records after each request
 * how far the server has acknowledged the journal. Used by the live background sender and by
 * {@code runs sync} alike.
 *
 * <p>Idempotence, case by case: the MLflow run is found again by the journal's id (a run tag) before a
 * new one is created; params and tags are idempotent on the server; dataset inputs are de-duplicated by
 * the server; artifacts are PUT to fixed paths. Metrics are not idempotent on every store, so after a
 * request whose outcome is unknown (timeout, reset, 5xx), and whenever the acknowledgement record was
 * lost, metric values already on the server (same key, step, timestamp, value) are filtered out first.
 */
final class JournalDelivery {

    static final String JOURNAL_ID_TAG = "workbench.journal_id";
    static final int MAX_VALUES = 1000;
    static final int MAX_PARAMS = 100;
    static final int MAX_TAGS = 100;
    private static final int MAX_INPUTS = 100;
    private static final int LOOKAHEAD = 2 * MAX_VALUES;
    private static final int LOUD_REJECTIONS = 20;

    private static final Logger LOG = LoggerFactory.getLogger(JournalDelivery.class);

    private final RunFiles files;
    private final MlflowServer server;
    private final String serverKey;
    private final DeliveryState state;
    private RunJournal.Cursor cursor;
    private final ArrayDeque<JournalEvent> pending = new ArrayDeque<>();

    // Read without the lock by the live run (status, progress) while a request is in flight.
    private volatile String experimentId;
    private volatile String runId;
    private volatile long acked;
    private boolean runChecked;
    /** The next metric batch may already be (partly) on the server. */
    private boolean verifyNext;
    /** The acknowledgement record was lost: check every metric against the server's history. */
    private boolean verifyAll;
    private final Map<String, Set<PointKey>> historyCache = new HashMap<>();
    private volatile long rejected;

    JournalDelivery(RunFiles files, MlflowServer server) throws IOException {
        this.files = files;
        this.server = server;
        this.serverKey = serverKey(server);
        this.state = DeliveryState.load(files.delivery());
        this.cursor = new RunJournal.Cursor(files.journal(), 0);
        state.get(serverKey).ifPresent(e -> {
            experimentId = e.experimentId();
            runId = e.runId();
            acked = e.acked();
        });
    }

    static String serverKey(JournalDelivery d) {
        return serverKey(d.server);
    }

    static String serverKey(MlflowServer server) {
        return server.uri().toString().replaceAll("/+$", "");
    }

    long acked() {
        return acked;
    }

    String runId() {
        return runId;
    }

    String experimentId() {
        return experimentId;
    }

    /** Events the server rejected (4xx) and that were skipped, with a warning each. */
    long rejected() {
        return rejected;
    }

    /**
     * Sends journal events not yet acknowledged, at most {@code maxEvents} of them. Returns how many
     * events this call got acknowledged. Throws {@link MlflowCallException} (UNREACHABLE or UNCERTAIN)
     * when the server cannot take them now; what was acknowledged before the failure stays so.
     */
    synchronized long deliver(long maxEvents) throws IOException {
        long before = acked;
        ensureRun();
        while (acked - before < maxEvents) {
            refill();
            if (pending.isEmpty()) {
                break;
            }
            sendNext(maxEvents - (acked - before));
        }
        return acked - before;
    }

    private void refill() throws IOException {
        while (pending.size() < LOOKAHEAD) {
            List<JournalEvent> more = cursor.next(LOOKAHEAD - pending.size());
            if (more.isEmpty()) {
                return;
            }
            for (JournalEvent e : more) {
                if (e.seq() > acked) {
                    pending.add(e);
                }
            }
        }
    }

    /** Finds or creates the MLflow run of this journal. */
    private void ensureRun() throws IOException {
        if (runId != null && !runChecked) {
            try {
                server.getRun(runId);
            } catch (MlflowCallException e) {
                if (e.status() != 404 && !e.errorCode().equals("RESOURCE_DOES_NOT_EXIST")) {
                    throw e;
                }
                LOG.warn("MLflow run {} recorded in {} is gone from {}; sending the journal again",
                        runId, files.delivery(), serverKey);
                runId = null;
                acked = 0;
                restartCursor();
            }
            runChecked = true;
        }
        if (runId != null) {
            return;
        }
        JournalEvent.Started start = RunJournal.readStart(files.journal());
        String expId = server.experimentId(start.experiment());
        List<RemoteRun> found = server.searchRuns(List.of(expId),
                "tags.`" + JOURNAL_ID_TAG + "` = '" + start.journalId() + "'");
        String id;
        if (!found.isEmpty()) {
            // Created before but the acknowledgement was lost: replay everything, skipping what is there.
            id = found.get(0).runId();
            verifyAll = true;
        } else {
            Map<String, String> tags = new LinkedHashMap<>(start.tags());
            tags.put(JOURNAL_ID_TAG, start.journalId());
            id = server.createRun(expId, start.runName(), start.time(), tags);
        }
        experimentId = expId;
        runId = id;
        runChecked = true;
        acked = Math.max(acked, start.seq());
        save();
    }

    private void restartCursor() {
        pending.clear();
        cursor = new RunJournal.Cursor(files.journal(), 0);
    }

    private void sendNext(long budget) throws IOException {
        JournalEvent head = pending.peek();
        if (head instanceof JournalEvent.Started s) {
            ack(List.of(s));
        } else if (isBatchable(head)) {
            sendBatch(budget);
        } else if (head instanceof JournalEvent.Input) {
            sendInputs(budget);
        } else {
            send(List.of(head), request(List.of(head)));
        }
    }

    private static boolean isBatchable(JournalEvent e) {
        return e instanceof JournalEvent.Metric || e instanceof JournalEvent.Param || e instanceof JournalEvent.Tag;
    }

    /** The request that sends these events (all batchable, all inputs, or one artifact or status). */
    private Runnable request(List<JournalEvent> events) {
        JournalEvent first = events.get(0);
        if (isBatchable(first)) {
            return () -> logBatch(events);
        } else if (first instanceof JournalEvent.Input) {
            return () -> logInputs(events);
        } else if (first instanceof JournalEvent.Artifact a) {
            return () -> upload(a);
        } else if (first instanceof JournalEvent.Status st) {
            return () -> server.setStatus(runId, st.status(), st.time());
        }
        throw new IllegalStateException("no request for " + first);
    }

    private void sendBatch(long budget) throws IOException {
        List<JournalEvent> batch = new ArrayList<>();
        int metrics = 0;
        Set<String> params = new HashSet<>();
        Set<String> tags = new HashSet<>();
        for (JournalEvent e : pending) {
            if (batch.size() >= MAX_VALUES || batch.size() >= budget) {
                break;
            }
            if (e instanceof JournalEvent.Metric && metrics < MAX_VALUES) {
                metrics++;
            } else if (e instanceof JournalEvent.Param p && params.size() < MAX_PARAMS && params.add(p.key())) {
                // added: keys are unique within one request, as MLflow requires
            } else if (e instanceof JournalEvent.Tag t && tags.size() < MAX_TAGS && tags.add(t.key())) {
                // added
            } else {
                break;
            }
            batch.add(e);
        }
        send(batch, request(batch));
    }

    private void logBatch(List<JournalEvent> batch) {
        List<MetricPoint> metrics = new ArrayList<>();
        Map<String, String> params = new LinkedHashMap<>();
        Map<String, String> tags = new LinkedHashMap<>();
        for (JournalEvent e : batch) {
            if (e instanceof JournalEvent.Metric m) {
                metrics.add(new MetricPoint(m.key(), m.value(), m.step(), m.time()));
            } else if (e instanceof JournalEvent.Param p) {
                params.put(p.key(), p.value());
            } else if (e instanceof JournalEvent.Tag t) {
                tags.put(t.key(), t.value());
            }
        }
        if (verifyNext || verifyAll) {
            metrics = notYetOnServer(metrics);
        }
        if (!metrics.isEmpty() || !params.isEmpty() || !tags.isEmpty()) {
            server.logBatch(runId, metrics, params, tags);
        }
    }

    /** The points the server does not have yet (compared by key, step, timestamp and value). */
    private List<MetricPoint> notYetOnServer(List<MetricPoint> points) {
        Map<String, Set<PointKey>> known = verifyAll ? historyCache : new HashMap<>();
        List<MetricPoint> missing = new ArrayList<>();
        for (MetricPoint p : points) {
            Set<PointKey> onServer = known.computeIfAbsent(p.key(), k -> {
                Set<PointKey> s = new HashSet<>();
                server.metricHistory(runId, k).forEach(h -> s.add(PointKey.of(h)));
                return s;
            });
            if (!onServer.contains(PointKey.of(p))) {
                missing.add(p);
            }
        }
        return missing;
    }

    /** MLflow's identity of a stored metric value; NaN compared by bits. */
    private record PointKey(String key, long step, long timestamp, long valueBits) {
        static PointKey of(MetricPoint p) {
            return new PointKey(p.key(), p.step(), p.timestamp(), Double.doubleToLongBits(p.value()));
        }
    }

    private void sendInputs(long budget) throws IOException {
        List<JournalEvent> batch = new ArrayList<>();
        for (JournalEvent e : pending) {
            if (!(e instanceof JournalEvent.Input) || batch.size() >= MAX_INPUTS || batch.size() >= budget) {
                break;
            }
            batch.add(e);
        }
        send(batch, request(batch));
    }

    private void logInputs(List<JournalEvent> batch) {
        List<MlflowDataset> datasets = new ArrayList<>();
        for (JournalEvent e : batch) {
            JournalEvent.Input in = (JournalEvent.Input) e;
            datasets.add(new MlflowDataset(in.name(), in.digest(), in.sourceType(), in.source(), in.profile(),
                    in.schema(), in.context().isEmpty() ? Map.of() : Map.of("mlflow.data.context", in.context())));
        }
        server.logInputs(runId, datasets);
    }

    private void upload(JournalEvent.Artifact a) {
        Path local = files.resolve(a.localPath());
        String target = a.artifactPath().replaceAll("^/+|/+$", "");
        if (Files.isRegularFile(local)) {
            server.uploadArtifact(runId, local, target);
            return;
        }
        if (!Files.isDirectory(local)) {
            throw new MlflowCallException(MlflowCallException.Kind.REJECTED, 0, "",
                    "artifact " + local + " no longer exists; it cannot be uploaded", null);
        }
        List<Path> all;
        try (Stream<Path> walk = Files.walk(local)) {
            // Never the run's own tracking files (a journal still being written), except staged copies.
            all = walk.filter(Files::isRegularFile)
                    .filter(f -> !f.startsWith(files.dir()) || f.startsWith(files.staged()))
                    .sorted().toList();
        } catch (IOException e) {
            throw new MlflowCallException(MlflowCallException.Kind.REJECTED, 0, "",
                    "cannot list artifact directory " + local + ": " + e.getMessage(), e);
        }
        for (Path f : all) {
            String rel = local.relativize(f).toString().replace('\\', '/');
            server.uploadArtifact(runId, f, target.isEmpty() ? rel : target + "/" + rel);
        }
    }

    /** Sends one request for these events and acknowledges them, or classifies the failure. */
    private void send(List<JournalEvent> events, Runnable request) throws IOException {
        try {
            request.run();
            verifyNext = false;
            ack(events);
        } catch (MlflowCallException e) {
            switch (e.kind()) {
                case UNREACHABLE -> throw e;
                case UNCERTAIN -> {
                    verifyNext = true;
                    throw e;
                }
                case REJECTED -> {
                    if (events.size() > 1) {
                        // Find the culprit: one bad key must not cost the other values of the batch.
                        for (JournalEvent one : events) {
                            send(List.of(one), request(List.of(one)));
                        }
                    } else {
                        reject(events.get(0), e);
                        ack(events);
                    }
                }
            }
        }
    }

    private void reject(JournalEvent e, MlflowCallException why) {
        rejected++;
        if (rejected <= LOUD_REJECTIONS) {
            LOG.warn("MLflow rejected journal event {} of {} and it is skipped: {}", e.seq(), files.journal(),
                    why.getMessage());
        } else if (rejected == LOUD_REJECTIONS + 1) {
            LOG.warn("more events of {} rejected; not reporting each", files.journal());
        }
    }

    private void ack(List<JournalEvent> events) throws IOException {
        long last = events.get(events.size() - 1).seq();
        while (!pending.isEmpty() && pending.peek().seq() <= last) {
            pending.poll();
        }
        acked = Math.max(acked, last);
        save();
    }

    private void save() throws IOException {
        state.put(serverKey, new DeliveryState.Entry(experimentId, runId, acked));
    }
}
