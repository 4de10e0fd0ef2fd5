/**
 * Reading dialogue, instruction and preference files: JSON arrays or JSON lines, plain or gzip, or Parquet,
 * streamed record by record (Jackson's streaming parser for arrays, one line at a time for JSONL, DuckDB's
 * streamed results for Parquet rows, which arrive as the same JSON trees) so a file bigger than memory can
 * be validated or tokenised. A {@link org.llamawb.datasets.source.ColumnMapping} points a format's keys at
 * differently named or nested fields; auto-detection says in one line what it chose.
 *
 * <p>Every record that cannot be used becomes a {@link org.llamawb.datasets.source.Problem}
 * ({@code file:line: reason}); {@link org.llamawb.datasets.source.OnError} decides whether it is skipped
 * (counted, logged, kept in {@link org.llamawb.datasets.source.ReadCounts}) or ends the read with a
 * {@link org.llamawb.model.BadInputException}. Nothing is dropped silently.
 */
package org.llamawb.datasets.source;
