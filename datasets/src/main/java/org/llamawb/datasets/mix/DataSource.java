package org.llamawb.datasets.mix;

import java.nio.file.Path;
import java.util.Map;
import org.llamawb.datasets.source.ColumnMapping;
import org.llamawb.datasets.source.DataFormat;
import org.llamawb.model.BadInputException;
import org.llamawb.model.hub.Sources;

/**
 * One file of a recipe's {@code data.sources} list.
 *
 * @param path the file (relative paths resolve against the recipe's folder; JSON, JSON lines or Parquet), or a
 *     source to download: {@code hf:datasets/ORG/NAME[@REVISION][/PATH][#SPLIT]} or an {@code https://} URL
 * @param format a {@link DataFormat} name, or null to detect it from the first record
 * @param weight how many times per epoch the source's training examples are used: 1 = each once,
 *     0.5 = a seeded half of them, 2.5 = each twice plus a seeded half (Koala-style mixtures)
 * @param columns where the format's keys are in the file's records, for files whose fields have other
 *     names or shapes ({@link ColumnMapping}: {@code {instruction: question, output: answer}}); null or empty
 *     reads the keys under their own names
 */
public record DataSource(String path, String format, Double weight, Map<String, String> columns) {
    public DataSource {
        if (path == null || path.isBlank()) {
            throw new BadInputException("data.sources[].path is required");
        }
        weight = weight == null ? 1.0 : weight;
        if (!(weight > 0) || Double.isInfinite(weight)) {
            throw new BadInputException("data.sources[].weight must be > 0, got " + weight + " for " + path);
        }
        if (format != null) {
            DataFormat.parse(format);
        }
        columns = columns == null ? Map.of() : new ColumnMapping(columns).fields();
    }

    /** A source without a column mapping. */
    public DataSource(String path, String format, Double weight) {
        this(path, format, weight, null);
    }

    public static DataSource of(String path) {
        return new DataSource(path, null, null);
    }

    /**
     * The local file: {@code path} relative to {@code baseDir} (when not null), or an {@code hf:datasets/...}
     * or {@code https://} source downloaded into its cache.
     */
    public Path file(Path baseDir) {
        return Sources.resolve(path, baseDir);
    }

    /** The format, or null for auto-detection. */
    public DataFormat dataFormat() {
        return format == null ? null : DataFormat.parse(format);
    }

    /** The column mapping ({@link ColumnMapping#NONE} when none is given). */
    public ColumnMapping columnMapping() {
        return new ColumnMapping(columns);
    }
}
