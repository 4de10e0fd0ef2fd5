package org.llamawb.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import java.net.URL;
import java.nio.file.Path;

/** Test fixtures on the classpath ({@code src/test/resources/fixtures/...}), and their JSON. */
public final class Fixtures {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Fixtures() {}

    private static final Map<String, Path> EXTRACTED = new ConcurrentHashMap<>();

    /**
     * The folder or file of a fixture, e.g. {@code hf/gqa}. Fixtures of another module come from its
     * test jar in a full build; those are copied out to a temporary folder once, so callers always get
     * a plain file path.
     */
    public static Path path(String relative) {
        URL url = Fixtures.class.getResource("/fixtures/" + relative);
        if (url == null) {
            throw new IllegalStateException("fixture missing from the test classpath: " + relative);
        }
        try {
            URI uri = url.toURI();
            if (!uri.getScheme().equals("jar")) {
                return Path.of(uri);
            }
            return EXTRACTED.computeIfAbsent(relative, r -> extract(uri, r));
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Path extract(URI uri, String relative) {
        try {
            FileSystem fs;
            try {
                fs = FileSystems.newFileSystem(uri, Map.of());
            } catch (FileSystemAlreadyExistsException e) {
                fs = FileSystems.getFileSystem(uri);
            }
            Path source = fs.provider().getPath(uri);
            Path target = Files.createTempDirectory("fixture-").resolve(relative);
            try (Stream<Path> all = Files.walk(source)) {
                for (Path p : all.toList()) {
                    Path t = target.resolve(source.relativize(p).toString());
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(t);
                    } else {
                        Files.createDirectories(t.getParent());
                        Files.copy(p, t);
                    }
                }
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract fixture " + relative, e);
        }
    }

    public static JsonNode json(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A JSON array of arrays of integers as {@code long[rows][cols]}. */
    public static long[][] longMatrix(JsonNode n) {
        long[][] out = new long[n.size()][];
        for (int i = 0; i < n.size(); i++) {
            out[i] = new long[n.get(i).size()];
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] = n.get(i).get(j).asLong();
            }
        }
        return out;
    }

    /** A JSON array of arrays of integers as {@code int[rows][cols]}. */
    public static int[][] intMatrix(JsonNode n) {
        long[][] l = longMatrix(n);
        int[][] out = new int[l.length][];
        for (int i = 0; i < l.length; i++) {
            out[i] = new int[l[i].length];
            for (int j = 0; j < l[i].length; j++) {
                out[i][j] = (int) l[i][j];
            }
        }
        return out;
    }
}
