package org.llamawb.datasets.mix;

import java.nio.file.Path;
import org.llamawb.datasets.source.DataFormat;
import org.llamawb.model.BadInputException;
import org.llamawb.model.hub.Sources;

/**
 * One file of a recipe's {@code data.sources} list.
 *
 * @param path the file (relative paths resolve against the recipe's folder), or a source to download:
 *     {@code hf:datasets/ORG/NAME[@REVISION][/PATH][#SPLIT]} or an {@code https://} URL
 * @param format a {@link DataFormat} name, or null to detect it from the first record
 * @param weight how many times per epoch the source's training examples are used: 1 = each once,
 *     0.5 = a seeded half of them, 2.5 = each twice plus a seeded half (Koala-style mixtures)
 */
public record DataSource(String path, String format, Double weight) {
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
}
