package org.llamawb.tracking;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The write-ahead log of one run: JSON lines appended and flushed before anything is sent anywhere, so
 * a crash or a server outage loses nothing. Appends are serialised; readers only ever see whole lines.
 */
final class RunJournal implements Closeable {

    private static final Logger LOG = LoggerFactory.getLogger(RunJournal.class);

    /** Writes NaN and the infinities as strings (JSON has no literal for them) and reads them back. */
    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    private final Path file;
    private final OutputStream out;
    private long lastSeq;
    private boolean writeFailed;

    private RunJournal(Path file, OutputStream out, long lastSeq) {
        this.file = file;
        this.out = out;
        this.lastSeq = lastSeq;
    }

    /**
     * Opens the journal for appending, creating it when absent. A torn last line (the process died
     * mid-write) is cut off first so the next event starts on a line of its own.
     */
    static RunJournal open(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        long lastSeq = 0;
        if (Files.exists(file)) {
            cutTornTail(file);
            Cursor cursor = new Cursor(file, 0);
            for (List<JournalEvent> chunk = cursor.next(10_000); !chunk.isEmpty(); chunk = cursor.next(10_000)) {
                lastSeq = Math.max(lastSeq, chunk.get(chunk.size() - 1).seq());
            }
        }
        OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        return new RunJournal(file, out, lastSeq);
    }

    private static void cutTornTail(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = ch.size();
            long keep = size;
            java.nio.ByteBuffer one = java.nio.ByteBuffer.allocate(1);
            while (keep > 0) {
                one.clear();
                ch.read(one, keep - 1);
                if (one.get(0) == '\n') {
                    break;
                }
                keep--;
            }
            if (keep < size) {
                LOG.warn("{}: dropping an incomplete last line ({} bytes) left by an interrupted write", file,
                        size - keep);
                ch.truncate(keep);
            }
        }
    }

    Path file() {
        return file;
    }

    synchronized long lastSeq() {
        return lastSeq;
    }

    /**
     * Appends the event made for the next sequence number and flushes it to the operating system.
     * A failing disk is reported once and does not stop the caller: logging never breaks training.
     */
    synchronized <E extends JournalEvent> E append(LongFunction<E> event) {
        E e = event.apply(lastSeq + 1);
        try {
            byte[] line = (JSON.writeValueAsString(e) + "\n").getBytes(StandardCharsets.UTF_8);
            out.write(line);
            out.flush();
            lastSeq = e.seq();
        } catch (IOException ex) {
            if (!writeFailed) {
                LOG.warn("cannot append to run journal {}: {}; tracking events are being lost", file, ex.toString());
                writeFailed = true;
            }
        }
        return e;
    }

    @Override
    public synchronized void close() throws IOException {
        out.close();
    }

    /** Reads whole lines from a byte offset on; a line still being written is left for the next call. */
    static final class Cursor {
        private final Path file;
        private long offset;

        Cursor(Path file, long offset) {
            this.file = file;
            this.offset = offset;
        }

        long offset() {
            return offset;
        }

        /** Up to {@code max} events after the current position; advances past them. */
        List<JournalEvent> next(int max) throws IOException {
            List<JournalEvent> events = new ArrayList<>();
            if (!Files.exists(file)) {
                return events;
            }
            try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
                in.skipNBytes(offset);
                ByteArrayOutputStream line = new ByteArrayOutputStream(256);
                int b;
                while (events.size() < max && (b = in.read()) != -1) {
                    if (b != '\n') {
                        line.write(b);
                        continue;
                    }
                    long start = offset;
                    offset += line.size() + 1;
                    String text = line.toString(StandardCharsets.UTF_8);
                    line.reset();
                    if (text.isBlank()) {
                        continue;
                    }
                    try {
                        events.add(JSON.readValue(text, JournalEvent.class));
                    } catch (IOException bad) {
                        LOG.warn("{}: skipping an unreadable journal line at byte {}: {}", file, start,
                                bad.getMessage().lines().findFirst().orElse(""));
                    }
                }
            } catch (java.io.EOFException shrunk) {
                // the file is shorter than our offset: nothing new
            }
            return events;
        }
    }

    /** The first event of a journal, which must be {@link JournalEvent.Started}. */
    static JournalEvent.Started readStart(Path file) throws IOException {
        List<JournalEvent> first = new Cursor(file, 0).next(1);
        if (first.isEmpty() || !(first.get(0) instanceof JournalEvent.Started s)) {
            throw new TrackingException(file + ": not a run journal (its first line must be a \"start\" event)");
        }
        return s;
    }
}
