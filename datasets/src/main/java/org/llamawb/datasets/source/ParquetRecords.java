package org.llamawb.datasets.source;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.Properties;
import org.llamawb.datasets.example.Origin;
import org.llamawb.model.BadInputException;

/**
 * The rows of a Parquet file as JSON records, read with DuckDB's embedded engine (every compression
 * codec, nested lists and structs). DuckDB turns each row into JSON ({@code to_json}), so a column
 * {@code conversations: list<struct<from, value>>} arrives exactly as the JSON reader would see
 * {@code "conversations": [{"from": ..., "value": ...}]} and every decoder works unchanged.
 *
 * <p>A record's "line" in problem reports is its 1-based row number in the file. Results are streamed
 * (DuckDB's {@code jdbc_stream_results}), so memory does not grow with the file.
 */
final class ParquetRecords implements RecordSource {
    /** "PAR1" opens (and closes) every Parquet file. */
    private static final byte[] MAGIC = {'P', 'A', 'R', '1'};

    private final String name;
    private final ObjectMapper mapper = new ObjectMapper();
    private final Connection connection;
    private final Statement statement;
    private final ResultSet rows;
    private long row;

    ParquetRecords(Path file) {
        this.name = file.toString();
        String path = file.toAbsolutePath().toString();
        if (path.chars().anyMatch(c -> c == '*' || c == '?' || c == '[' || c == '{')) {
            // DuckDB expands these as a glob pattern: another file could be read in this one's place.
            throw new BadInputException(file + ": a Parquet file name must not contain * ? [ or {; rename the file");
        }
        Properties props = new Properties();
        props.setProperty("jdbc_stream_results", "true");
        Connection c = null;
        Statement s = null;
        try {
            c = DriverManager.getConnection("jdbc:duckdb:", props);
            s = c.createStatement();
            // Parquet is built into DuckDB: never fetch an extension from the network while reading data.
            s.execute("SET autoinstall_known_extensions = false");
            s.execute("SET autoload_known_extensions = false");
            // rows come back in file order (DuckDB's default, relied on for row numbers in problem reports)
            s.execute("SET preserve_insertion_order = true");
            this.rows = s.executeQuery("SELECT to_json(t)::VARCHAR FROM read_parquet('" + path.replace("'", "''")
                    + "') AS t");
        } catch (SQLException e) {
            closeQuietly(s, c);
            throw new BadInputException(file + ": cannot read as Parquet (" + firstLine(e) + ")");
        }
        this.connection = c;
        this.statement = s;
    }

    /** Whether {@code file} starts with Parquet's magic bytes. */
    static boolean isParquet(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return Arrays.equals(in.readNBytes(MAGIC.length), MAGIC);
        }
    }

    @Override
    public RecordStream.Item next() throws IOException {
        String json;
        try {
            if (!rows.next()) {
                return null;
            }
            json = rows.getString(1);
        } catch (SQLException e) {
            // A corrupt page or footer: DuckDB cannot resume within the file.
            return new RecordStream.Bad(new Problem(new Origin(name, row + 1),
                    "cannot read Parquet row (" + firstLine(e) + "); the rest of the file cannot be read"), true);
        }
        row++;
        Origin origin = new Origin(name, row);
        try {
            return new RecordStream.Record(mapper.readTree(json), origin);
        } catch (JsonProcessingException e) {
            // DuckDB writes valid JSON; this would be a value it cannot express (reported, not fatal).
            return new RecordStream.Bad(new Problem(origin, "row not convertible to JSON: "
                    + e.getOriginalMessage()), false);
        }
    }

    private static String firstLine(SQLException e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.lines().findFirst().orElse(m).trim();
    }

    @Override
    public void close() throws IOException {
        try {
            rows.close();
        } catch (SQLException e) {
            throw new IOException(firstLine(e), e);
        } finally {
            closeQuietly(statement, connection);
        }
    }

    private static void closeQuietly(Statement s, Connection c) {
        try {
            if (s != null) {
                s.close();
            }
        } catch (SQLException ignored) {
            // closing after a failure: the first error is the one reported
        }
        try {
            if (c != null) {
                c.close();
            }
        } catch (SQLException ignored) {
            // as above
        }
    }
}
