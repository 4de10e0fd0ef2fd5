package org.llamawb.tracking;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A dataset a run used, logged as an MLflow dataset input (shown in the run's "Datasets used").
 *
 * @param name e.g. {@code train} or the file name
 * @param digest a short content hash: the same data gives the same digest across runs
 * @param source where it came from: a path or URI
 * @param sourceType MLflow's source type: {@code local}, {@code http}, {@code hf}, ...
 * @param rows the number of rows (examples) in it, or -1 when unknown
 * @param context what it was used for: {@code training}, {@code eval}, ...
 */
public record DatasetInput(String name, String digest, String source, String sourceType, long rows, String context) {

    public DatasetInput {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("dataset input needs a name");
        }
        if (digest == null || digest.isBlank() || digest.length() > 36) {
            throw new IllegalArgumentException("dataset digest must be 1 to 36 characters, got " + digest);
        }
        source = source == null ? "" : source;
        sourceType = sourceType == null || sourceType.isBlank() ? "local" : sourceType;
        context = context == null ? "" : context;
    }

    /** A local file, with the first 8 bytes of its SHA-256 as the digest. */
    public static DatasetInput ofFile(String name, Path file, long rows, String context) throws IOException {
        return new DatasetInput(name, sha256Prefix(file), file.toAbsolutePath().normalize().toString(), "local",
                rows, context);
    }

    static String sha256Prefix(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n = in.read(buf); n > 0; n = in.read(buf)) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    /** MLflow's {@code source}: JSON with the URI, as MLflow's own dataset sources write it. */
    String sourceJson() {
        return RunJournal.JSON.createObjectNode().put("uri", source).toString();
    }

    /** MLflow's {@code profile}: JSON with the row count, or empty when unknown. */
    String profileJson() {
        return rows < 0 ? "" : RunJournal.JSON.createObjectNode().put("num_rows", rows).toString();
    }
}
