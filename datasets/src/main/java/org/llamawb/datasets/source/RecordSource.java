package org.llamawb.datasets.source;

import java.io.IOException;

/**
 * The raw records of one file as JSON trees, one at a time: {@link RecordStream} for JSON and JSON lines,
 * {@link ParquetRecords} for Parquet. Every format decoder reads these trees, so a Parquet row and the
 * same record written as JSON decode to the same example.
 */
interface RecordSource extends AutoCloseable {

    /** The next record or problem, or null at the end of the file. */
    RecordStream.Item next() throws IOException;

    @Override
    void close() throws IOException;
}
