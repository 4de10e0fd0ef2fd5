package org.llamawb.model.hub;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.llamawb.model.BadInputException;

/**
 * A file, folder or whole repository on the Hugging Face Hub, written as Hugging Face's own
 * {@code hf://} paths are (the {@code HfFileSystem} form), with an optional split for datasets:
 * <pre>
 * hf:ORG/NAME[@REVISION][/PATH]                   a model repository, or a file or folder in it
 * hf:datasets/ORG/NAME[@REVISION][/PATH][#SPLIT]  a dataset repository
 * </pre>
 * {@code hf://} is accepted for {@code hf:}. REVISION is a branch, tag or commit (default {@code main}; one
 * holding a slash is percent-encoded, {@code refs%2Fpr%2F1}). Examples:
 * {@code hf:karpathy/tinyllamas/stories260K/stories260K.bin},
 * {@code hf:TinyLlama/TinyLlama-1.1B-Chat-v1.0@main}, {@code hf:datasets/tatsu-lab/alpaca#train}.
 *
 * @param type model or dataset repository
 * @param repoId {@code ORG/NAME}
 * @param revision what was asked for ({@code main} when nothing was)
 * @param path a file or folder inside the repository, or null for all of it
 * @param split a dataset split picked by the Hub's file naming ({@code train}, {@code test}, ...), or null
 */
public record HubSource(RepoType type, String repoId, String revision, String path, String split) {

    /** The two kinds of repository a source can name. */
    public enum RepoType {
        MODEL("models", ""),
        DATASET("datasets", "datasets/");

        private final String plural;
        private final String urlPrefix;

        RepoType(String plural, String urlPrefix) {
            this.plural = plural;
            this.urlPrefix = urlPrefix;
        }

        /** {@code models} / {@code datasets}: the cache folder prefix and the API path. */
        public String plural() {
            return plural;
        }

        /** What precedes {@code ORG/NAME} in {@code resolve} URLs. */
        String urlPrefix() {
            return urlPrefix;
        }
    }

    public static final String SYNTAX = "hf:ORG/NAME[@REVISION][/PATH] or hf:datasets/ORG/NAME[@REVISION][/PATH][#SPLIT]";

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    public HubSource {
        if (revision == null || revision.isBlank()) {
            revision = "main";
        }
        if (path != null && (path.isBlank() || path.startsWith("/") || path.contains("..") || path.contains("\\"))) {
            throw new BadInputException("hf:" + repoId + ": path '" + path + "' must be relative to the repository, without .. or \\");
        }
        if (path != null && path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        if (split != null && type != RepoType.DATASET) {
            throw new BadInputException("hf:" + repoId + ": #" + split + " picks a split, which only datasets have (hf:datasets/ORG/NAME#SPLIT)");
        }
    }

    /** Whether {@code spec} is meant as a Hub source. */
    public static boolean isHub(String spec) {
        return spec.startsWith("hf:");
    }

    /** Parses {@code spec}; an unparseable one is a one-line error that shows the syntax. */
    public static HubSource parse(String spec) {
        if (!isHub(spec)) {
            throw new BadInputException("'" + spec + "' is not a Hub source (" + SYNTAX + ")");
        }
        String rest = spec.substring(spec.startsWith("hf://") ? 5 : 3);
        String split = null;
        int hash = rest.indexOf('#');
        if (hash >= 0) {
            split = rest.substring(hash + 1);
            rest = rest.substring(0, hash);
            if (!NAME.matcher(split).matches()) {
                throw new BadInputException(spec + ": expected a split name after '#', got '" + split + "'");
            }
        }
        RepoType type = RepoType.MODEL;
        if (rest.startsWith("datasets/")) {
            type = RepoType.DATASET;
            rest = rest.substring("datasets/".length());
        } else if (rest.startsWith("models/")) {
            rest = rest.substring("models/".length());
        } else if (rest.startsWith("spaces/")) {
            throw new BadInputException(spec + ": Spaces are not a source of models or data; expected " + SYNTAX);
        }
        Matcher m = Pattern.compile("([^/@]+)/([^/@]+)(?:@([^/]+))?(?:/(.+))?").matcher(rest);
        if (!m.matches() || !NAME.matcher(m.group(1)).matches() || !NAME.matcher(m.group(2)).matches()) {
            throw new BadInputException("'" + spec + "': expected " + SYNTAX
                    + " (e.g. hf:karpathy/tinyllamas/stories260K/stories260K.bin)");
        }
        String revision = m.group(3) == null ? null : URLDecoder.decode(m.group(3), StandardCharsets.UTF_8);
        return new HubSource(type, m.group(1) + "/" + m.group(2), revision, m.group(4), split);
    }

    /** Whether the revision is already a commit hash (then no {@code refs/} entry is written). */
    public boolean revisionIsCommit() {
        return COMMIT.matcher(revision).matches();
    }

    /** The source as the user would write it. */
    @Override
    public String toString() {
        return "hf:" + type.urlPrefix() + repoId + ("main".equals(revision) ? "" : "@" + revision)
                + (path == null ? "" : "/" + path) + (split == null ? "" : "#" + split);
    }
}
