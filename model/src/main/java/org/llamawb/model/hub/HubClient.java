package org.llamawb.model.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.llamawb.model.BadInputException;

/**
 * The two Hub requests a download needs, as huggingface_hub makes them: the repository's file list at a
 * revision ({@code GET /api/{models|datasets}/ORG/NAME/revision/REV}, which also pins the commit) and a
 * file's metadata ({@code HEAD .../resolve/COMMIT/PATH}: {@code X-Repo-Commit}, {@code X-Linked-Etag} or
 * {@code ETag}, {@code X-Linked-Size} or {@code Content-Length}, and a {@code Location} when the bytes live
 * on a CDN). HTTP errors become one line that says what to do; a network failure is an
 * {@link IOException} so the caller can fall back to the cache.
 */
final class HubClient {
    static final String USER_AGENT = "llama-workbench/0.1; java/" + Runtime.version().feature();

    /** A repository at one commit. */
    record RepoInfo(String commit, List<String> files) {}

    /**
     * What a {@code HEAD} on a file says.
     *
     * @param etag sha256 of an LFS file, git blob sha1 of another (quotes and {@code W/} removed)
     * @param size bytes, or -1 when the Hub did not say
     * @param location where to GET the bytes (the CDN after a redirect, else the resolve URL)
     */
    record FileMeta(String commit, String etag, long size, URI location) {}

    private final HttpClient http;
    private final HubEnvironment env;

    HubClient(HttpClient http, HubEnvironment env) {
        this.http = http;
        this.env = env;
    }

    /** Headers every Hub request carries: the token when there is one. */
    Map<String, String> authHeaders() {
        Map<String, String> h = new LinkedHashMap<>();
        if (env.token() != null) {
            h.put("Authorization", "Bearer " + env.token());
        }
        return h;
    }

    RepoInfo repoInfo(HubSource s) throws IOException {
        URI url = URI.create(env.endpoint() + "/api/" + s.type().plural() + "/" + s.repoId() + "/revision/"
                + URLEncoder.encode(s.revision(), StandardCharsets.UTF_8));
        HttpResponse<InputStream> r = null;
        // A renamed repository answers with a redirect on the same origin; follow it, as requests does.
        for (int hop = 0; hop < 10; hop++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(url).GET().header("User-Agent", USER_AGENT)
                    .timeout(Duration.ofSeconds(30));
            authHeaders().forEach(b::header);
            r = send(b);
            String location = r.headers().firstValue("Location").orElse(null);
            if (r.statusCode() < 300 || r.statusCode() >= 400 || location == null || !sameOrigin(url, url.resolve(location))) {
                break;
            }
            r.body().close();
            url = url.resolve(location);
        }
        try (InputStream in = r.body()) {
            if (r.statusCode() != 200) {
                throw error(r.statusCode(), r.headers(), s, null);
            }
            JsonNode root = new ObjectMapper().readTree(in);
            String commit = root.path("sha").asText("");
            if (commit.isEmpty()) {
                throw new BadInputException(url + " gave no commit ('sha'): is HF_ENDPOINT (" + env.endpoint() + ") a Hugging Face Hub?");
            }
            List<String> files = new ArrayList<>();
            for (JsonNode f : root.path("siblings")) {
                files.add(f.path("rfilename").asText());
            }
            return new RepoInfo(commit, files);
        }
    }

    FileMeta head(HubSource s, String commit, String file) throws IOException {
        URI url = resolveUrl(s, commit, file);
        URI at = url;
        // As huggingface_hub: follow redirects that stay on the same origin (a renamed repository); one to
        // another origin points at the CDN that serves the bytes, and its own headers are the ones that matter.
        for (int hop = 0; hop < 10; hop++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(at).method("HEAD", HttpRequest.BodyPublishers.noBody())
                    .header("User-Agent", USER_AGENT).header("Accept-Encoding", "identity").timeout(Duration.ofSeconds(10));
            authHeaders().forEach(b::header);
            HttpResponse<InputStream> r = send(b);
            r.body().close();
            int status = r.statusCode();
            HttpHeaders h = r.headers();
            String location = h.firstValue("Location").orElse(null);
            if (status >= 300 && status < 400 && location != null && sameOrigin(at, at.resolve(location))) {
                at = at.resolve(location);
                continue;
            }
            if (status >= 400) {
                throw error(status, h, s, file);
            }
            String etag = h.firstValue("X-Linked-Etag").or(() -> h.firstValue("ETag")).map(HubClient::normalizeEtag).orElse(null);
            String headCommit = h.firstValue("X-Repo-Commit").orElse(null);
            if (headCommit == null || etag == null || etag.isEmpty()) {
                throw new BadInputException("HEAD " + url + " gave no " + (headCommit == null ? "X-Repo-Commit" : "ETag")
                        + " header: HF_ENDPOINT (" + env.endpoint() + ") does not answer as the Hugging Face Hub does");
            }
            long size = h.firstValue("X-Linked-Size").map(Long::parseLong)
                    .orElse(location != null ? -1L : h.firstValueAsLong("Content-Length").orElse(-1L));
            return new FileMeta(headCommit, etag, size, location != null ? at.resolve(location) : at);
        }
        throw new BadInputException("HEAD " + url + ": more than 10 redirects");
    }

    /** {@code {endpoint}/[datasets/]ORG/NAME/resolve/{revision}/{path}}, each part URL-encoded as hf_hub_url does. */
    URI resolveUrl(HubSource s, String revision, String file) {
        StringBuilder path = new StringBuilder();
        for (String part : file.split("/")) {
            path.append('/').append(URLEncoder.encode(part, StandardCharsets.UTF_8).replace("+", "%20"));
        }
        return URI.create(env.endpoint() + "/" + s.type().urlPrefix() + s.repoId() + "/resolve/"
                + URLEncoder.encode(revision, StandardCharsets.UTF_8) + path);
    }

    private HttpResponse<InputStream> send(HttpRequest.Builder b) throws IOException {
        try {
            return http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** Same scheme, host and port (the default port of the scheme when none is written). */
    static boolean sameOrigin(URI a, URI b) {
        return a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getHost().equalsIgnoreCase(b.getHost())
                && port(a) == port(b);
    }

    private static int port(URI u) {
        return u.getPort() >= 0 ? u.getPort() : "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
    }

    /** huggingface_hub's {@code _normalize_etag}: {@code W/"abc"} and {@code "abc"} both give {@code abc}. */
    static String normalizeEtag(String etag) {
        String e = etag.trim();
        if (e.startsWith("W/")) {
            e = e.substring(2);
        }
        return e.replace("\"", "");
    }

    private BadInputException error(int status, HttpHeaders h, HubSource s, String file) {
        String code = h.firstValue("X-Error-Code").orElse("");
        String what = s.type() == HubSource.RepoType.DATASET ? "dataset " + s.repoId() : s.repoId();
        if (status == 401 || status == 403 || code.equals("GatedRepo")) {
            return new BadInputException(authMessage(status, env.token() != null, what));
        }
        if (code.equals("RevisionNotFound")) {
            return new BadInputException(s + ": revision '" + s.revision() + "' not found in " + what + " on " + env.endpoint());
        }
        if (code.equals("EntryNotFound") || (status == 404 && file != null && !code.equals("RepoNotFound"))) {
            return new BadInputException(s + ": " + file + " not found in " + what + " at " + s.revision());
        }
        if (status == 404) {
            return new BadInputException(s + ": " + what + " not found on " + env.endpoint()
                    + (env.token() == null ? " (a private repository is not found either without a token: set HF_TOKEN)" : ""));
        }
        return new BadInputException(s + ": " + env.endpoint() + " answered HTTP " + status
                + h.firstValue("X-Error-Message").map(m -> " (" + m + ")").orElse(""));
    }

    /** The line a user sees for 401/403: what the Hub said and which variable to set. */
    static String authMessage(int status, boolean hadToken, String what) {
        if (status == 401 && !hadToken) {
            return what + ": the Hub answered 401 Unauthorized: it is private or gated; set HF_TOKEN to an access token "
                    + "that can read it (https://huggingface.co/settings/tokens)";
        }
        if (status == 401) {
            return what + ": the Hub refused the token in HF_TOKEN (401 Unauthorized): it is invalid or expired";
        }
        return what + ": access denied (" + status + "): the repository is gated; accept its conditions on its page with "
                + "the account whose token is in HF_TOKEN" + (hadToken ? "" : " (HF_TOKEN is not set)");
    }
}
