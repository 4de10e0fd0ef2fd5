package org.llamawb.model.hub;

import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.llamawb.model.BadInputException;

/**
 * An {@code https://} source (a raw file on GitHub, a mirror), kept in a cache of its own:
 * {@code <urlCache>/<first 16 hex of sha256(url)>/<file name>}, with {@code source.txt} beside it naming
 * the URL. A URL is fetched once; {@code #sha256=HEX} at its end pins the content, which is then checked.
 */
final class UrlDownload {
    private static final Pattern PIN = Pattern.compile("(.*)#sha256=([0-9a-fA-F]{64})");

    private final HubEnvironment env;

    UrlDownload(HubEnvironment env) {
        this.env = env;
    }

    static boolean isUrl(String spec) {
        return spec.startsWith("https://") || spec.startsWith("http://");
    }

    Path resolve(String spec) {
        String url = spec;
        String pin = null;
        Matcher m = PIN.matcher(spec);
        if (m.matches()) {
            url = m.group(1);
            pin = m.group(2).toLowerCase(java.util.Locale.ROOT);
        } else if (spec.contains("#")) {
            throw new BadInputException(spec + ": the only fragment a URL source takes is #sha256=<64 hex digits>");
        }
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(spec + ": not a URL (" + e.getMessage() + ")");
        }
        String rawPath = uri.getRawPath() == null ? "" : uri.getRawPath();
        String name = URLDecoder.decode(rawPath.substring(rawPath.lastIndexOf('/') + 1), StandardCharsets.UTF_8);
        if (name.isBlank() || name.equals(".") || name.equals("..") || name.contains("\\")) {
            name = "download";
        }
        Path dir = env.urlCache().resolve(key(url));
        Path file = dir.resolve(name);
        if (Files.isRegularFile(file)) {
            return file;
        }
        if (env.offline()) {
            throw new BadInputException("HF_HUB_OFFLINE is set and " + url + " is not cached: fill " + file
                    + " (download it there, or run once without HF_HUB_OFFLINE)");
        }
        String from = env.fetchUrl(url);
        Path incomplete = dir.resolve(name + ".incomplete");
        try {
            Files.createDirectories(dir);
            new Downloader(Downloader.newClient(), env).fetch(URI.create(from), Map.of(), incomplete, -1, url);
            if (pin != null) {
                String h = Downloader.sha256(incomplete);
                if (!h.equals(pin)) {
                    Downloader.delete(incomplete);
                    throw new BadInputException("download of " + url + " is corrupt: its sha256 is " + h + " but the source pins "
                            + pin + "; the partial file was removed");
                }
            }
            Files.writeString(dir.resolve("source.txt"), url + "\n", StandardCharsets.UTF_8);
            Files.move(incomplete, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new BadInputException("cannot write the download cache " + dir + " (" + Downloader.reason(e)
                    + "); set WORKBENCH_CACHE to a writable folder");
        }
        return file;
    }

    /** The cache folder of a URL: the URL as given, not as rewritten by a mirror, so both share it. */
    private static String key(String url) {
        try {
            var md = java.security.MessageDigest.getInstance("SHA-256");
            return java.util.HexFormat.of().formatHex(md.digest(url.getBytes(StandardCharsets.UTF_8))).substring(0, 16);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
