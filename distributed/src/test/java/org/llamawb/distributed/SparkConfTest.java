package org.llamawb.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** The executors' class path of a local cluster: an executor starts in its own work directory. */
class SparkConfTest {

    @Test
    void relativeClassPathEntriesAreMadeAbsolute() {
        Path here = Path.of("").toAbsolutePath();
        String given = String.join(File.pathSeparator, "distributed/target/workbench-spark.jar", "", "/opt/wb/lib/*",
                "./lib/../conf");
        String[] entries = SparkGradients.absoluteClassPath(given).split(File.pathSeparator);
        assertEquals(3, entries.length);
        assertEquals(here.resolve("distributed/target/workbench-spark.jar").toString(), entries[0]);
        assertEquals("/opt/wb/lib/*", entries[1]);
        assertEquals(here.resolve("conf").toString(), entries[2]);
    }

    @Test
    void aLocalClusterGivesItsExecutorsAnAbsoluteClassPath() {
        SparkConf conf = SparkGradients.conf("local-cluster[2,1,512]", true);
        for (String entry : conf.get("spark.executor.extraClassPath").split(File.pathSeparator)) {
            assertTrue(Path.of(entry).isAbsolute(), entry);
        }
    }
}
