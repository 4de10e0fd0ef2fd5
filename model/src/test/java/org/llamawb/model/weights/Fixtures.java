package org.llamawb.model.weights;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.function.Executable;
import org.llamawb.model.BadInputException;

/** Test helpers: the committed fixtures of scripts/reference/make_weights_fixtures.py, bad-input checks. */
final class Fixtures {
    private Fixtures() {}

    /** A file or folder under src/test/resources/fixtures/weights. */
    static Path path(String relative) {
        URL url = Fixtures.class.getResource("/fixtures/weights/" + relative);
        if (url == null) {
            throw new IllegalStateException("missing fixture " + relative);
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Runs {@code action}, expects a one-line {@link BadInputException} containing every fragment. */
    static BadInputException assertBad(Executable action, String... fragments) {
        BadInputException e = assertThrows(BadInputException.class, action);
        String m = e.getMessage();
        assertFalse(m.contains("\n"), () -> "message must be one line: " + m);
        for (String f : fragments) {
            assertTrue(m.contains(f), () -> "message lacks '" + f + "': " + m);
        }
        return e;
    }

    /** A safetensors file with the given header JSON (unpadded) and data bytes. */
    static Path rawSafetensors(Path file, String headerJson, byte[] data) throws IOException {
        byte[] h = headerJson.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Files.write(file, b.array());
        return file;
    }
}
