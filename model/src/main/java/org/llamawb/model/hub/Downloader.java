package org.llamawb.model.hub;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.llamawb.model.BadInputException;

/**
 * Fetches one URL into an {@code .incomplete} file that survives failures: a later attempt (in this run
 * or the next) asks only for the missing bytes with a {@code Range} request, as huggingface_hub's
 * {@code http_get} does. The caller checks the finished file and moves it into place.
 */
final class Downloader {
    /** Attempts per download; each one after the first resumes where the last stopped. */
    static final int ATTEMPTS = 5;

    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");

    private final HttpClient http;
    private final HubEnvironment env;

    Downloader(HttpClient http, HubEnvironment env) {
        this.http = http;
        this.env = env;
    }

    static HttpClient newClient() {
        // Redirects are followed by hand: the token must not travel to a CDN on another host.
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(10)).build();
    }

    /**
     * Completes {@code incomplete} from {@code url} ({@code expectedSize} bytes, or -1 when unknown).
     *
     * @param headers sent on every request to {@code url}'s own host (the token)
     * @param what how messages name the file ({@code karpathy/tinyllamas/stories260K/tok512.bin})
     */
    void fetch(URI url, Map<String, String> headers, Path incomplete, long expectedSize, String what) {
        long have = sizeOf(incomplete);
        if (expectedSize >= 0 && have > expectedSize) {
            delete(incomplete); // longer than the file: not a prefix of it
            have = 0;
        }
        TransferProgress progress = new TransferProgress(env.log(), env.terminal(), what, expectedSize, have);
        IOException last = null;
        long size = expectedSize;
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            if (size >= 0 && sizeOf(incomplete) == size) {
                break;
            }
            try {
                if (attempt > 1) {
                    // Back off a little: a cut connection is often a flaky network or a restarting server.
                    Thread.sleep(Math.min(8000, 250L << (attempt - 2)));
                }
                size = fetchOnce(url, headers, incomplete, size, progress);
                last = null;
                break;
            } catch (IOException e) {
                last = e;
                long now = sizeOf(incomplete);
                if (attempt < ATTEMPTS) {
                    progress.abandon();
                    env.log().println(what + ": " + reason(e) + "; resuming at byte " + now + " (attempt " + (attempt + 1)
                            + " of " + ATTEMPTS + ")");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                progress.abandon();
                throw new BadInputException("download of " + what + " interrupted; run again to resume from " + incomplete);
            }
        }
        if (last != null) {
            progress.abandon();
            long now = sizeOf(incomplete);
            throw new BadInputException("download of " + what + " stopped at " + now + " of "
                    + (size >= 0 ? size : "?") + " bytes after " + ATTEMPTS + " attempts (" + reason(last)
                    + "); run the command again to resume from " + incomplete);
        }
        progress.finish();
    }

    /** One request (and its redirects); returns the file's size when known, else -1. */
    private long fetchOnce(URI url, Map<String, String> headers, Path incomplete, long expectedSize, TransferProgress progress)
            throws IOException, InterruptedException {
        long have = sizeOf(incomplete);
        URI at = url;
        for (int hop = 0; hop < 10; hop++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(at).GET().header("Accept-Encoding", "identity")
                    .header("User-Agent", HubClient.USER_AGENT).timeout(Duration.ofSeconds(30));
            if (HubClient.sameOrigin(url, at)) { // a CDN elsewhere gets a signed URL, never the token
                headers.forEach(b::header);
            }
            if (have > 0) {
                b.header("Range", "bytes=" + have + "-");
            }
            HttpResponse<InputStream> r = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            int status = r.statusCode();
            if (status >= 300 && status < 400 && r.headers().firstValue("Location").isPresent()) {
                r.body().close();
                at = at.resolve(r.headers().firstValue("Location").get());
                continue;
            }
            try (InputStream in = r.body()) {
                if (status == 416 && have > 0) {
                    // Nothing left to send: the partial file is as long as the remote one, or not a prefix of it.
                    if (expectedSize >= 0 && have == expectedSize) {
                        return expectedSize;
                    }
                    delete(incomplete);
                    progress.reset(0);
                    throw new IOException("the server refused to resume (416); starting over");
                }
                if (status == 401 || status == 403) {
                    throw new BadInputException(HubClient.authMessage(status, env.token() != null, url.toString()));
                }
                if (status >= 500 || status == 429) { // busy or failing for now: worth another attempt
                    throw new IOException("the server answered HTTP " + status);
                }
                if (status != 200 && status != 206) {
                    throw new BadInputException("GET " + url + " answered HTTP " + status);
                }
                boolean append = false;
                if (status == 206) {
                    String range = r.headers().firstValue("Content-Range").orElse("");
                    Matcher m = CONTENT_RANGE.matcher(range);
                    if (!m.matches() || Long.parseLong(m.group(1)) != have) {
                        throw new IOException("the server resumed at the wrong place (Content-Range '" + range + "', have " + have + ")");
                    }
                    append = true;
                    if (expectedSize < 0 && !m.group(3).equals("*")) {
                        expectedSize = Long.parseLong(m.group(3));
                    }
                } else {
                    if (have > 0) {
                        progress.reset(0); // the server ignored Range: start over
                    }
                    if (expectedSize < 0) {
                        expectedSize = r.headers().firstValueAsLong("Content-Length").orElse(-1L);
                    }
                }
                progress.begin(expectedSize);
                Files.createDirectories(incomplete.getParent());
                try (OutputStream out = Files.newOutputStream(incomplete, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
                    byte[] buf = new byte[1 << 16];
                    for (int n; (n = in.read(buf)) > 0; ) {
                        out.write(buf, 0, n);
                        progress.advance(n);
                    }
                } catch (IOException e) {
                    // What a failed read means to the user: where it stopped (the cause's text is the JDK's).
                    throw new IOException("the connection closed at byte " + sizeOf(incomplete), e);
                }
            }
            long now = sizeOf(incomplete);
            if (expectedSize >= 0 && now < expectedSize) {
                throw new IOException("the connection closed at byte " + now);
            }
            return expectedSize;
        }
        throw new BadInputException("GET " + url + ": more than 10 redirects");
    }

    /** Lower-case hex of the SHA-256 of a file. */
    static String sha256(Path file) throws IOException {
        return digest(file, "SHA-256", null);
    }

    /** The git blob id ({@code sha1("blob <size>\0" + content)}): the Hub's ETag of a file not kept in LFS. */
    static String gitBlobSha1(Path file) throws IOException {
        return digest(file, "SHA-1", ("blob " + Files.size(file) + "\0").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    }

    private static String digest(Path file, String algorithm, byte[] prefix) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every JDK has SHA-1 and SHA-256
        }
        if (prefix != null) {
            md.update(prefix);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static long sizeOf(Path p) {
        try {
            return Files.isRegularFile(p) ? Files.size(p) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    static void delete(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // Left behind, it is checked (and replaced) on the next attempt.
        }
    }

    /** The cause of a failure in a few words, on one line. */
    static String reason(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m.replace('\n', ' ');
    }
}
