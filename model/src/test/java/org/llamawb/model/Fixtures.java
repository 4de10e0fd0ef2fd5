package org.llamawb.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** Test fixtures on the classpath ({@code src/test/resources/fixtures/...}), and their JSON. */
public final class Fixtures {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Fixtures() {}

    /** The folder or file of a fixture, e.g. {@code hf/gqa}. */
    public static Path path(String relative) {
        URL url = Fixtures.class.getResource("/fixtures/" + relative);
        if (url == null) {
            throw new IllegalStateException("fixture missing from the test classpath: " + relative);
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
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
