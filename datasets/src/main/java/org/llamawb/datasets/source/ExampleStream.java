package org.llamawb.datasets.source;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.llamawb.datasets.example.Example;
import org.llamawb.model.BadInputException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The examples of one file, decoded lazily. Skipped records are logged at WARN (the first few) and
 * counted in {@link #counts()}; with {@link OnError#FAIL} the first one throws instead. A problem after
 * which the rest of the file cannot be read (a syntax error inside a JSON array) always throws.
 */
public final class ExampleStream implements Iterator<Example>, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ExampleStream.class);
    private static final int LOGGED_PROBLEMS = 20;

    private final RecordStream records;
    private final ReadOptions options;
    private final ReadCounts counts;
    private final Deque<Example> pending = new ArrayDeque<>();
    private DataFormat format;
    private boolean finished;

    ExampleStream(RecordStream records, ReadOptions options) {
        this.records = records;
        this.options = options;
        this.format = options.format();
        this.counts = new ReadCounts(options.keepProblems());
    }

    /** The format being read: as given, or as detected from the first record (null before it is read). */
    public DataFormat format() {
        return format;
    }

    /** What has been read so far; complete once {@link #hasNext()} returned false. */
    public ReadCounts counts() {
        return counts;
    }

    @Override
    public boolean hasNext() {
        while (pending.isEmpty() && !finished) {
            advance();
        }
        return !pending.isEmpty();
    }

    @Override
    public Example next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return pending.poll();
    }

    private void advance() {
        RecordStream.Item item;
        try {
            item = records.next();
        } catch (IOException e) {
            throw new BadInputException(recordsName() + ": read failed (" + e.getMessage() + ")");
        }
        if (item == null) {
            finished = true;
            return;
        }
        counts.record();
        if (item instanceof RecordStream.Bad bad) {
            if (bad.endsFile()) {
                // what follows cannot be read, nor counted: refused, never silently cut short
                throw new BadInputException(bad.problem() + "; the file is refused rather than cut short (fix it, or"
                        + " write it as JSON lines, where a bad line is skipped alone)");
            }
            problem(bad.problem());
            return;
        }
        RecordStream.Record rec = (RecordStream.Record) item;
        if (format == null) {
            format = DataFormat.detect(rec.node()).orElse(null);
            if (format == null) {
                throw new BadInputException(rec.origin() + ": cannot detect the data format from this record's keys "
                        + keys(rec.node()) + "; name it with --format (one of " + DataFormat.names() + ")");
            }
        }
        try {
            List<Example> out = format.decode(rec.node(), rec.origin());
            counts.examples(out.size());
            pending.addAll(out);
        } catch (BadRecord e) {
            problem(new Problem(rec.origin(), e.getMessage()));
        }
    }

    private void problem(Problem p) {
        if (options.onError() == OnError.FAIL) {
            throw new BadInputException(p.toString());
        }
        if (counts.problems() < LOGGED_PROBLEMS) {
            LOG.warn("skipped {}", p);
        }
        counts.problem(p);
    }

    private String recordsName() {
        return "data file";
    }

    private static String keys(com.fasterxml.jackson.databind.JsonNode node) {
        if (!node.isObject()) {
            return "(a JSON " + node.getNodeType().name().toLowerCase() + ")";
        }
        StringBuilder sb = new StringBuilder("{");
        node.fieldNames().forEachRemaining(k -> sb.append(sb.length() > 1 ? ", " : "").append(k));
        return sb.append("}").toString();
    }

    @Override
    public void close() {
        try {
            records.close();
        } catch (IOException e) {
            throw new BadInputException("closing data file failed (" + e.getMessage() + ")");
        }
    }
}
