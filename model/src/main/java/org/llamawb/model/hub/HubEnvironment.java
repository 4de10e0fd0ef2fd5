package org.llamawb.model.hub;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.llamawb.model.BadInputException;

/**
 * Where sources come from and go to, read once from the environment with the names and defaults Python's
 * {@code huggingface_hub} uses, so both share one cache.
 *
 * @param endpoint {@code HF_ENDPOINT}, default {@code https://huggingface.co} (no trailing slash)
 * @param token {@code HF_TOKEN}, else the token file {@code huggingface-cli login} writes
 *     ({@code $HF_HOME/token}); null when neither is set
 * @param offline {@code HF_HUB_OFFLINE} is 1/true/yes/on: nothing is fetched, sources come from the caches
 * @param hubCache {@code HF_HUB_CACHE}, else {@code $HF_HOME/hub}; {@code HF_HOME} defaults to
 *     {@code $XDG_CACHE_HOME/huggingface}, {@code ~/.cache/huggingface}
 * @param urlCache where {@code https://} sources are kept: {@code $WORKBENCH_CACHE/urls}, default
 *     {@code $XDG_CACHE_HOME/llama-workbench/urls}
 * @param urlMirrors {@code WORKBENCH_URL_MIRROR}: {@code PREFIX=REPLACEMENT} pairs separated by {@code ;}
 *     that rewrite where a URL is fetched from (not how it is cached), for mirrors and CI
 * @param log where progress and notes go (standard error)
 * @param terminal whether {@code log} is a terminal (a redrawn progress bar) or a file (plain lines)
 */
public record HubEnvironment(String endpoint, String token, boolean offline, Path hubCache, Path urlCache,
        List<UrlMirror> urlMirrors, PrintStream log, boolean terminal) {

    /** Rewrites URLs that start with {@code prefix} to start with {@code replacement}. */
    public record UrlMirror(String prefix, String replacement) {
        public UrlMirror {
            if (prefix.isEmpty() || replacement.isEmpty()) {
                throw new BadInputException("WORKBENCH_URL_MIRROR: expected PREFIX=REPLACEMENT[;PREFIX=REPLACEMENT...], got an empty side");
            }
        }
    }

    public HubEnvironment {
        endpoint = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
        try {
            URI u = URI.create(endpoint);
            if (u.getScheme() == null || u.getHost() == null) {
                throw new IllegalArgumentException("no scheme or host");
            }
        } catch (IllegalArgumentException e) {
            throw new BadInputException("HF_ENDPOINT: expected a URL such as https://huggingface.co, got '" + endpoint + "'");
        }
        urlMirrors = List.copyOf(urlMirrors);
    }

    /** The environment of this process, logging to standard error. */
    public static HubEnvironment system() {
        return of(System.getenv(), System.err, System.console() != null && !"dumb".equals(System.getenv("TERM")));
    }

    /** The environment described by {@code env} (variable name to value). */
    public static HubEnvironment of(Map<String, String> env, PrintStream log, boolean terminal) {
        Path home = Path.of(System.getProperty("user.home"));
        Path xdg = nonBlank(env.get("XDG_CACHE_HOME")) ? Path.of(env.get("XDG_CACHE_HOME")) : home.resolve(".cache");
        Path hfHome = nonBlank(env.get("HF_HOME")) ? Path.of(env.get("HF_HOME")) : xdg.resolve("huggingface");
        Path hubCache = nonBlank(env.get("HF_HUB_CACHE")) ? Path.of(env.get("HF_HUB_CACHE")) : hfHome.resolve("hub");
        Path wbCache = nonBlank(env.get("WORKBENCH_CACHE")) ? Path.of(env.get("WORKBENCH_CACHE")) : xdg.resolve("llama-workbench");
        String endpoint = nonBlank(env.get("HF_ENDPOINT")) ? env.get("HF_ENDPOINT").trim() : "https://huggingface.co";
        return new HubEnvironment(endpoint, token(env, hfHome), isTrue(env.get("HF_HUB_OFFLINE")), hubCache,
                wbCache.resolve("urls"), mirrors(env.get("WORKBENCH_URL_MIRROR")), log, terminal);
    }

    /** The same environment with another log (tests read what a user would see). */
    public HubEnvironment withLog(PrintStream log, boolean terminal) {
        return new HubEnvironment(endpoint, token, offline, hubCache, urlCache, urlMirrors, log, terminal);
    }

    /** {@code url} after the first matching {@link UrlMirror}. */
    String fetchUrl(String url) {
        for (UrlMirror m : urlMirrors) {
            if (url.startsWith(m.prefix())) {
                return m.replacement() + url.substring(m.prefix().length());
            }
        }
        return url;
    }

    private static String token(Map<String, String> env, Path hfHome) {
        if (nonBlank(env.get("HF_TOKEN"))) {
            return env.get("HF_TOKEN").trim();
        }
        // huggingface_hub's HF_TOKEN_PATH, written by `hf auth login`.
        Path file = nonBlank(env.get("HF_TOKEN_PATH")) ? Path.of(env.get("HF_TOKEN_PATH")) : hfHome.resolve("token");
        try {
            if (Files.isRegularFile(file)) {
                String t = Files.readString(file, StandardCharsets.UTF_8).trim();
                return t.isEmpty() ? null : t;
            }
        } catch (IOException e) {
            // An unreadable token file is as good as none; a 401 will then say to set HF_TOKEN.
        }
        return null;
    }

    private static List<UrlMirror> mirrors(String spec) {
        List<UrlMirror> out = new ArrayList<>();
        if (!nonBlank(spec)) {
            return out;
        }
        for (String pair : spec.split(";")) {
            if (pair.isBlank()) {
                continue;
            }
            int eq = pair.indexOf('=');
            if (eq < 0) {
                throw new BadInputException("WORKBENCH_URL_MIRROR: expected PREFIX=REPLACEMENT, got '" + pair.trim() + "'");
            }
            out.add(new UrlMirror(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim()));
        }
        return out;
    }

    /** huggingface_hub's {@code _is_true}: 1, ON, YES, TRUE in any case. */
    private static boolean isTrue(String v) {
        return v != null && List.of("1", "ON", "YES", "TRUE").contains(v.trim().toUpperCase(Locale.ROOT));
    }

    private static boolean nonBlank(String s) {
        return s != null && !s.isBlank();
    }
}
