package org.llamawb.model.hub;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A loopback Hugging Face Hub for tests: serves local files in the Hub's URL layout with the headers
 * huggingface_hub reads. {@code /api/{models|datasets}/ORG/NAME/revision/REV} lists a repository;
 * {@code [datasets/]ORG/NAME/resolve/REV/PATH} answers HEAD and GET as the Hub does: LFS files (by
 * extension, as the Hub's default {@code .gitattributes}) with a 302 to {@code /cdn/<sha256>} and
 * {@code X-Linked-Etag}/{@code X-Linked-Size}, other files directly with their git blob sha1 as ETag;
 * {@code /raw/PATH} serves plain files for URL sources. Range requests are honoured.
 *
 * <p>Faults on demand: cut the next GET bodies after some bytes, serve wrong bytes for a file, require a token.
 */
public final class HubMirror implements AutoCloseable {
    private static final Pattern RESOLVE = Pattern.compile("/(datasets/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)");
    private static final Pattern API = Pattern.compile("/api/(models|datasets)/([^/]+/[^/]+)/revision/([^/]+)");
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");
    private static final List<String> LFS = List.of(".bin", ".model", ".parquet", ".safetensors", ".gguf", ".pt");

    private final HttpServer server;
    /** The CDN answers on another port: another origin, which must not receive the token. */
    private final HttpServer cdnServer;
    /** "models/ORG/NAME" or "datasets/ORG/NAME" to repository path to local file. */
    private final Map<String, Map<String, Path>> repos = new ConcurrentHashMap<>();
    private final Map<String, Path> raw = new ConcurrentHashMap<>();
    private final Map<String, Path> cdn = new ConcurrentHashMap<>();
    private final Map<String, byte[]> corrupt = new ConcurrentHashMap<>();
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger cutsLeft = new AtomicInteger();
    private volatile long cutAt;
    private volatile String token;
    private final Map<String, String> renamed = new ConcurrentHashMap<>();

    private HubMirror(HttpServer server, HttpServer cdnServer) {
        this.server = server;
        this.cdnServer = cdnServer;
    }

    public static HubMirror start() throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        HttpServer c = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        HubMirror m = new HubMirror(s, c);
        s.createContext("/", m::handle);
        c.createContext("/", m::handle);
        s.start();
        c.start();
        return m;
    }

    private String cdnOrigin() {
        return "http://" + cdnServer.getAddress().getHostString() + ":" + cdnServer.getAddress().getPort();
    }

    /** {@code http://127.0.0.1:PORT}: the value of HF_ENDPOINT. */
    public String endpoint() {
        return "http://" + server.getAddress().getHostString() + ":" + server.getAddress().getPort();
    }

    public HubMirror model(String repo, String path, Path file) {
        repos.computeIfAbsent("models/" + repo, k -> new TreeMap<>()).put(path, file);
        return this;
    }

    public HubMirror dataset(String repo, String path, Path file) {
        repos.computeIfAbsent("datasets/" + repo, k -> new TreeMap<>()).put(path, file);
        return this;
    }

    /** Serves {@code file} at {@code /raw/<path>}. */
    public HubMirror raw(String path, Path file) {
        raw.put(path, file);
        return this;
    }

    /** The next {@code n} GET bodies stop after {@code bytes} bytes (the connection closes). */
    public void cutNextDownloads(int n, long bytes) {
        cutAt = bytes;
        cutsLeft.set(n);
    }

    /** Serves {@code bytes} for a repository file while announcing the real file's hash and size. */
    public void corrupt(String repoPath, byte[] bytes) {
        corrupt.put(repoPath, bytes);
    }

    /** Requests naming {@code oldRepo} get a relative 307 to {@code newRepo}, as the Hub answers after a rename. */
    public HubMirror renamed(String oldRepo, String newRepo) {
        renamed.put(oldRepo, newRepo);
        return this;
    }

    /** Every request then needs {@code Authorization: Bearer <token>}, as a private repository does. */
    public void requireToken(String t) {
        token = t;
    }

    /** Each request as {@code METHOD path [Range] [auth]}, in order. */
    public List<String> requests() {
        return List.copyOf(requests);
    }

    /** The commit the mirror reports for a repository: a hash of its listing and contents. */
    public String commit(String kind, String repo) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-1");
            for (Map.Entry<String, Path> e : repos.get(kind + "/" + repo).entrySet()) {
                md.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                md.update(sha256(e.getValue()).getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        String path = URLDecoder.decode(ex.getRequestURI().getRawPath(), StandardCharsets.UTF_8);
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        String range = ex.getRequestHeaders().getFirst("Range");
        requests.add(ex.getRequestMethod() + " " + path + (range == null ? "" : " " + range) + (auth == null ? "" : " auth"));
        try {
            if (path.startsWith("/cdn/")) { // the CDN neither needs nor gets the token
                Path f = cdn.get(path.substring(5));
                send(ex, f == null ? null : Files.readAllBytes(f), true);
                return;
            }
            if (path.startsWith("/raw/")) {
                Path f = raw.get(path.substring(5));
                send(ex, f == null ? null : Files.readAllBytes(f), true);
                return;
            }
            if (token != null && !("Bearer " + token).equals(auth)) {
                ex.getResponseHeaders().add("X-Error-Code", "RepoNotFound");
                status(ex, 401);
                return;
            }
            for (Map.Entry<String, String> r : renamed.entrySet()) {
                String from = "/" + r.getKey() + "/";
                int at = path.indexOf(from);
                if (at >= 0 && at <= "/api/datasets".length()) {
                    ex.getResponseHeaders().add("Location", path.substring(0, at) + "/" + r.getValue() + "/" + path.substring(at + from.length()));
                    status(ex, 307);
                    return;
                }
            }
            Matcher api = API.matcher(path);
            if (api.matches()) {
                listing(ex, api.group(1), api.group(2));
                return;
            }
            Matcher m = RESOLVE.matcher(path);
            if (!m.matches()) {
                status(ex, 404);
                return;
            }
            String kind = m.group(1) == null ? "models" : "datasets";
            Map<String, Path> files = repos.get(kind + "/" + m.group(2));
            if (files == null) {
                ex.getResponseHeaders().add("X-Error-Code", "RepoNotFound");
                status(ex, 404);
                return;
            }
            String commit = commit(kind, m.group(2));
            String rev = m.group(3);
            if (!rev.equals("main") && !rev.equals(commit)) {
                ex.getResponseHeaders().add("X-Error-Code", "RevisionNotFound");
                status(ex, 404);
                return;
            }
            Path f = files.get(m.group(4));
            Headers h = ex.getResponseHeaders();
            h.add("X-Repo-Commit", commit);
            if (f == null) {
                h.add("X-Error-Code", "EntryNotFound");
                status(ex, 404);
                return;
            }
            if (LFS.stream().anyMatch(m.group(4)::endsWith)) {
                String sha = sha256(f);
                cdn.put(sha, corrupt.containsKey(m.group(4)) ? writeTemp(corrupt.get(m.group(4))) : f);
                h.add("X-Linked-Etag", "\"" + sha + "\"");
                h.add("X-Linked-Size", Long.toString(Files.size(f)));
                h.add("ETag", "\"" + gitSha1(Files.readAllBytes(f)) + "\"");
                h.add("Location", cdnOrigin() + "/cdn/" + sha);
                ex.sendResponseHeaders(302, -1);
                return;
            }
            byte[] body = Files.readAllBytes(f);
            h.add("ETag", "\"" + gitSha1(body) + "\"");
            send(ex, corrupt.getOrDefault(m.group(4), body), true);
        } finally {
            ex.close();
        }
    }

    private void listing(HttpExchange ex, String kind, String repo) throws IOException {
        Map<String, Path> files = repos.get(kind + "/" + repo);
        if (files == null) {
            ex.getResponseHeaders().add("X-Error-Code", "RepoNotFound");
            status(ex, 404);
            return;
        }
        StringBuilder b = new StringBuilder("{\"id\":\"" + repo + "\",\"sha\":\"" + commit(kind, repo) + "\",\"siblings\":[");
        List<String> names = new ArrayList<>(files.keySet());
        for (int i = 0; i < names.size(); i++) {
            b.append(i == 0 ? "" : ",").append("{\"rfilename\":\"").append(names.get(i)).append("\"}");
        }
        b.append("]}");
        ex.getResponseHeaders().add("Content-Type", "application/json");
        send(ex, b.toString().getBytes(StandardCharsets.UTF_8), false);
    }

    /** A body honouring {@code Range: bytes=N-}; HEAD gets the headers only; a pending cut truncates a file's. */
    private void send(HttpExchange ex, byte[] body, boolean file) throws IOException {
        if (body == null) {
            status(ex, 404);
            return;
        }
        int start = 0;
        int code = 200;
        String range = ex.getRequestHeaders().getFirst("Range");
        Matcher r = range == null ? null : RANGE.matcher(range);
        if (r != null && r.matches()) {
            start = (int) Long.parseLong(r.group(1));
            if (start >= body.length) {
                ex.getResponseHeaders().add("Content-Range", "bytes */" + body.length);
                status(ex, 416);
                return;
            }
            code = 206;
            ex.getResponseHeaders().add("Content-Range", "bytes " + start + "-" + (body.length - 1) + "/" + body.length);
        }
        int len = body.length - start;
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseHeaders().add("Content-Length", Integer.toString(len));
            ex.sendResponseHeaders(code, -1);
            return;
        }
        ex.sendResponseHeaders(code, len);
        OutputStream out = ex.getResponseBody();
        if (file && cutsLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            int n = (int) Math.min(len, Math.max(0, cutAt - start));
            out.write(body, start, n);
            out.flush();
            try {
                Thread.sleep(100); // let the client read what was sent before the connection drops
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            // Closing with bytes missing makes the server drop the connection mid-body.
            throw new IOException("cut by the test at byte " + (start + n));
        }
        out.write(body, start, len);
    }

    private static void status(HttpExchange ex, int code) throws IOException {
        ex.sendResponseHeaders(code, -1);
    }

    private static Path writeTemp(byte[] bytes) {
        try {
            Path p = Files.createTempFile("hub-mirror-corrupt", ".bin");
            p.toFile().deleteOnExit();
            return Files.write(p, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String sha256(Path f) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String gitSha1(byte[] body) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-1");
            md.update(("blob " + body.length + "\0").getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(md.digest(body));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        cdnServer.stop(0);
    }
}
