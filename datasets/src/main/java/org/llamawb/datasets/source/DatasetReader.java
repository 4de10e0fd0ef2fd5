package org.llamawb.datasets.source;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.llamawb.datasets.example.Example;
import org.llamawb.model.BadInputException;

/**
 * Opens dialogue, instruction and preference files as streams of {@link Example}s: JSON arrays or JSON
 * lines (plain or gzip), or Parquet (recognised by its magic bytes, not the file name).
 */
public final class DatasetReader {
    private DatasetReader() {}

    /**
     * Streams the examples of {@code file}. The caller closes the stream. Memory use does not grow with
     * the file: one record is held at a time.
     *
     * @throws BadInputException when the file is missing or unreadable, its format cannot be detected, or
     *     (with {@link OnError#FAIL}) at the first bad record, as {@code file:line: reason}
     */
    public static ExampleStream open(Path file, ReadOptions options) {
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file + ": data file not found");
        }
        try {
            RecordSource records = ParquetRecords.isParquet(file) ? new ParquetRecords(file)
                    : new RecordStream(file, options.maxRecordBytes());
            return new ExampleStream(records, options);
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read (" + e.getMessage() + ")");
        }
    }

    /** Reads every example of a (small) file into a list. */
    public static List<Example> readAll(Path file, ReadOptions options) {
        try (ExampleStream s = open(file, options)) {
            List<Example> out = new ArrayList<>();
            s.forEachRemaining(out::add);
            return out;
        }
    }

    static UncheckedIOException unchecked(IOException e) {
        return new UncheckedIOException(e);
    }
}
