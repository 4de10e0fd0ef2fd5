package org.llamawb.datasets.source;

/**
 * How to read a file.
 *
 * @param format the record format, or null to detect it from the first readable record
 * @param onError skip bad records (counted) or fail on the first
 * @param maxRecordBytes the longest JSONL line or JSON string accepted; longer ones are reported
 *     ("a very long line") without being held in memory
 * @param keepProblems how many problems {@link ReadCounts#firstProblems()} keeps in full
 * @param columns where the format's keys are in each record ({@link ColumnMapping#NONE}: under their own
 *     names, or as detection guesses from the first record)
 */
public record ReadOptions(DataFormat format, OnError onError, int maxRecordBytes, int keepProblems,
        ColumnMapping columns) {
    /** 64 MiB: far above any real dialogue record, far below what would exhaust the heap. */
    public static final int DEFAULT_MAX_RECORD_BYTES = 64 << 20;

    public ReadOptions {
        if (onError == null) {
            throw new IllegalArgumentException("onError is required");
        }
        if (maxRecordBytes < 16) {
            throw new IllegalArgumentException("maxRecordBytes must be >= 16, got " + maxRecordBytes);
        }
        if (keepProblems < 0) {
            throw new IllegalArgumentException("keepProblems must be >= 0, got " + keepProblems);
        }
        columns = columns == null ? ColumnMapping.NONE : columns;
    }

    /** Auto-detected format, skip bad records, default limits. */
    public static ReadOptions skipping() {
        return new ReadOptions(null, OnError.SKIP, DEFAULT_MAX_RECORD_BYTES, 100, ColumnMapping.NONE);
    }

    /** Auto-detected format, fail on the first bad record. */
    public static ReadOptions failing() {
        return new ReadOptions(null, OnError.FAIL, DEFAULT_MAX_RECORD_BYTES, 100, ColumnMapping.NONE);
    }

    public ReadOptions withFormat(DataFormat f) {
        return new ReadOptions(f, onError, maxRecordBytes, keepProblems, columns);
    }

    public ReadOptions withOnError(OnError e) {
        return new ReadOptions(format, e, maxRecordBytes, keepProblems, columns);
    }

    public ReadOptions withMaxRecordBytes(int n) {
        return new ReadOptions(format, onError, n, keepProblems, columns);
    }

    public ReadOptions withKeepProblems(int n) {
        return new ReadOptions(format, onError, maxRecordBytes, n, columns);
    }

    public ReadOptions withColumns(ColumnMapping c) {
        return new ReadOptions(format, onError, maxRecordBytes, keepProblems, c);
    }
}
