package org.llamawb.datasets.source;

import com.fasterxml.jackson.databind.JsonNode;
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

    private final RecordSource records;
    private final ReadOptions options;
    private final ReadCounts counts;
    private final Deque<Example> pending = new ArrayDeque<>();
    private DataFormat format;
    private ColumnMapping columns;
    private boolean finished;

    ExampleStream(RecordSource records, ReadOptions options) {
        this.records = records;
        this.options = options;
        this.format = options.format();
        this.columns = options.columns();
        this.counts = new ReadCounts(options.keepProblems());
    }

    /** The column mapping applied to each record: as given, or as guessed with the format. */
    public ColumnMapping columns() {
        return columns;
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
        try {
            JsonNode node = format == null && columns.isEmpty() ? detect(rec) : columns.apply(rec.node());
            if (format == null) {
                detectMapped(rec, node);
            }
            List<Example> out = format.decode(node, rec.origin());
            counts.examples(out.size());
            pending.addAll(out);
        } catch (BadRecord e) {
            problem(new Problem(rec.origin(), e.getMessage()));
        }
    }

    /** Chooses the format (and any columns) from an unmapped first record; returns the record mapped. */
    private JsonNode detect(RecordStream.Record rec) throws BadRecord {
        Detection d = Detection.of(rec.node(), rec.origin().file()).orElseThrow(() -> undetectable(rec, rec.node()));
        detected(d);
        return columns.apply(rec.node());
    }

    /** Chooses the format from a first record already mapped by the given columns. */
    private void detectMapped(RecordStream.Record rec, JsonNode mapped) {
        detected(Detection.ofMapped(mapped, columns, rec.origin().file()).orElseThrow(() -> undetectable(rec, mapped)));
    }

    private void detected(Detection d) {
        format = d.format();
        columns = d.columns();
        counts.detection(d.note());
        if (options.columns().isEmpty() && !d.columns().isEmpty()) {
            LOG.warn(d.note()); // a guess about columns: say so where the user looks
        } else {
            LOG.info(d.note());
        }
    }

    private static BadInputException undetectable(RecordStream.Record rec, JsonNode node) {
        return new BadInputException(rec.origin() + ": cannot detect the data format from this record's keys "
                + Detection.keys(node) + "; name it with --format (one of " + DataFormat.names() + "), and map"
                + " differently named fields with --columns (recipe: format: and columns: on the data source)");
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

    @Override
    public void close() {
        try {
            records.close();
        } catch (IOException e) {
            throw new BadInputException("closing data file failed (" + e.getMessage() + ")");
        }
    }
}
