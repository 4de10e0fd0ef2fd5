package bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Properties;

/** Reads every row of a ShareGPT Parquet file through DuckDB as a Jackson tree (as ParquetRecords does). */
public class Main {
    public static void main(String[] args) throws Exception {
        long t0 = System.nanoTime();
        ObjectMapper mapper = new ObjectMapper();
        Properties props = new Properties();
        if (System.getProperty("stream") != null) {
            props.setProperty("jdbc_stream_results", "true");
        }
        long rows = 0;
        long chars = 0;
        try (Connection c = DriverManager.getConnection("jdbc:duckdb:", props);
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT to_json(t)::VARCHAR FROM read_parquet('"
                        + args[0].replace("'", "''") + "') t")) {
            while (rs.next()) {
                JsonNode row = mapper.readTree(rs.getString(1));
                rows++;
                for (JsonNode turn : row.get("conversations")) {
                    chars += turn.get("value").asText().length();
                }
            }
        }
        System.out.printf("duckdb rows=%d chars=%d time=%.2fs%n", rows, chars, (System.nanoTime() - t0) / 1e9);
    }
}
