package org.llamawb.datasets.example;

import java.util.Objects;

/**
 * Where a record starts: the file as the user named it and its 1-based line.
 *
 * <p>{@link #toString()} is {@code file:line}, the prefix of every problem report.
 */
public record Origin(String file, long line) {
    public Origin {
        Objects.requireNonNull(file, "file");
        if (line < 1) {
            throw new IllegalArgumentException("line must be >= 1, got " + line);
        }
    }

    @Override
    public String toString() {
        return file + ":" + line;
    }
}
