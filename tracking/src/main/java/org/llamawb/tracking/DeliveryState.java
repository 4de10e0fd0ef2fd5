package org.llamawb.tracking;

import com.fasterxml.jackson.core.type.TypeReference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What each tracking server has acknowledged of one journal: the MLflow run it went to and the highest
 * sequence number up to which every event is on the server. Events are sent in journal order, so one
 * number suffices. Rewritten atomically after every acknowledged request.
 */
final class DeliveryState {

    /** @param acked every journal event with {@code seq <= acked} is on the server */
    record Entry(String experimentId, String runId, long acked) {}

    private final Path file;
    private final Map<String, Entry> byServer;

    private DeliveryState(Path file, Map<String, Entry> byServer) {
        this.file = file;
        this.byServer = byServer;
    }

    static DeliveryState load(Path file) throws IOException {
        if (!Files.exists(file)) {
            return new DeliveryState(file, new TreeMap<>());
        }
        try {
            Map<String, Entry> m = RunJournal.JSON.readValue(file.toFile(), new TypeReference<TreeMap<String, Entry>>() {});
            return new DeliveryState(file, m);
        } catch (IOException e) {
            throw new TrackingException(file + ": unreadable delivery record (" + e.getMessage().lines().findFirst()
                    .orElse("") + "); delete it to resend the journal (nothing is duplicated)", e);
        }
    }

    synchronized Optional<Entry> get(String server) {
        return Optional.ofNullable(byServer.get(server));
    }

    synchronized void put(String server, Entry entry) throws IOException {
        byServer.put(server, entry);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        RunJournal.JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), byServer);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
