package org.llamawb.model;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the read-only real test data in {@code ../shared/data} (relative to the project root).
 *
 * <p>Tests call {@link #require(String)}: when the folder is absent (a plain clone outside the
 * workspace) the test is skipped with a message saying so; {@code .ci/run} refuses to start without
 * it, so in CI these tests always run.
 */
public final class TestData {
    private TestData() {}

    /** The shared data folder, or null when it is not present. */
    public static Path root() {
        String override = System.getenv("WORKBENCH_SHARED_DATA");
        if (override != null && !override.isBlank()) {
            return Path.of(override);
        }
        Path dir = Path.of("").toAbsolutePath();
        for (Path p = dir; p != null; p = p.getParent()) {
            Path candidate = p.resolveSibling("shared").resolve("data");
            if (Files.isDirectory(candidate) && Files.isRegularFile(p.resolve("pom.xml"))) {
                return candidate;
            }
        }
        return null;
    }

    /** A file or folder under the shared data; skips the calling test when the data is absent. */
    public static Path require(String relative) {
        Path root = root();
        assumeTrue(root != null, "../shared/data is absent: real-data tests skipped");
        Path p = root.resolve(relative);
        assumeTrue(Files.exists(p), "missing shared data file " + p);
        return p;
    }
}
