package bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.io.MessageColumnIO;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.Type;

/**
 * Reads every row of a ShareGPT Parquet file with parquet-java (no Hadoop file system: LocalInputFile and
 * PlainParquetConfiguration) into a Jackson tree. The assembler handles only what this file holds: strings,
 * structs and three-level lists.
 */
public class Main {
    public static void main(String[] args) throws Exception {
        long t0 = System.nanoTime();
        long rows = 0;
        long chars = 0;
        ParquetReadOptions options = ParquetReadOptions.builder(new PlainParquetConfiguration()).build();
        try (ParquetFileReader r = ParquetFileReader.open(new LocalInputFile(Path.of(args[0])), options)) {
            MessageType schema = r.getFooter().getFileMetaData().getSchema();
            PageReadStore pages;
            while ((pages = r.readNextRowGroup()) != null) {
                MessageColumnIO io = new ColumnIOFactory().getColumnIO(schema);
                RecordReader<Group> records = io.getRecordReader(pages, new GroupRecordConverter(schema));
                for (long i = 0; i < pages.getRowCount(); i++) {
                    JsonNode row = group(records.read(), schema);
                    rows++;
                    for (JsonNode turn : row.get("conversations")) {
                        chars += turn.get("value").asText().length();
                    }
                }
            }
        }
        System.out.printf("parquet-java rows=%d chars=%d time=%.2fs%n", rows, chars, (System.nanoTime() - t0) / 1e9);
    }

    static JsonNode group(Group g, GroupType t) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        for (int f = 0; f < t.getFieldCount(); f++) {
            Type ft = t.getType(f);
            if (ft.getLogicalTypeAnnotation() instanceof LogicalTypeAnnotation.ListLogicalTypeAnnotation) {
                ArrayNode arr = o.putArray(ft.getName());
                if (g.getFieldRepetitionCount(f) == 0) {
                    continue;
                }
                Group list = g.getGroup(f, 0); // list -> repeated group list -> element
                GroupType repeated = ft.asGroupType().getType(0).asGroupType();
                for (int i = 0; i < list.getFieldRepetitionCount(0); i++) {
                    arr.add(group(list.getGroup(0, i).getGroup(0, 0), repeated.getType(0).asGroupType()));
                }
            } else if (ft.isPrimitive()) {
                if (g.getFieldRepetitionCount(f) == 0) {
                    o.putNull(ft.getName());
                } else {
                    o.put(ft.getName(), g.getString(f, 0));
                }
            } else {
                o.set(ft.getName(), group(g.getGroup(f, 0), ft.asGroupType()));
            }
        }
        return o;
    }
}
