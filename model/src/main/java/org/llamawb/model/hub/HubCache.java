package org.llamawb.model.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * One repository's folder in the Hub cache, laid out as {@code huggingface_hub}'s
 * {@code _hf_hub_download_to_cache_dir} writes it (see the package documentation).
 */
final class HubCache {
    private final Path root;
    private final Path repoDir;
    private final Path locks;

    HubCache(Path hubCache, HubSource.RepoType type, String repoId) {
        this.root = hubCache;
        String folder = type.plural() + "--" + repoId.replace("/", "--");
        this.repoDir = hubCache.resolve(folder);
        this.locks = hubCache.resolve(".locks").resolve(folder);
    }

    Path repoDir() {
        return repoDir;
    }

    Path refFile(String revision) {
        return repoDir.resolve("refs").resolve(revision);
    }

    Path snapshot(String commit) {
        return repoDir.resolve("snapshots").resolve(commit);
    }

    Path pointer(String commit, String file) {
        return snapshot(commit).resolve(file);
    }

    Path blob(String etag) {
        return repoDir.resolve("blobs").resolve(etag);
    }

    Path incomplete(String etag) {
        return repoDir.resolve("blobs").resolve(etag + ".incomplete");
    }

    Path lock(String etag) {
        return locks.resolve(etag + ".lock");
    }

    /** The commit a revision resolves to from the cache alone: itself when it is one, else {@code refs/}. */
    Optional<String> cachedCommit(HubSource s) {
        if (s.revisionIsCommit()) {
            return Files.isDirectory(snapshot(s.revision())) ? Optional.of(s.revision()) : Optional.empty();
        }
        Path ref = refFile(s.revision());
        try {
            return Files.isRegularFile(ref) ? Optional.of(Files.readString(ref, StandardCharsets.UTF_8).trim()) : Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Marks the cache folder for backup tools (the CACHEDIR.TAG standard), as huggingface_hub does. */
    void tagCacheDir() throws IOException {
        Path tag = root.resolve("CACHEDIR.TAG");
        if (!Files.exists(tag)) {
            Files.createDirectories(root);
            Files.writeString(tag, "Signature: 8a477f597d28d172789f06886806bc55\n"
                    + "# This file is a cache directory tag created by llama-workbench (the Hugging Face Hub cache).\n"
                    + "# For information about cache directory tags, see:\n#\thttps://bford.info/cachedir/\n", StandardCharsets.UTF_8);
        }
    }

    /** Records which commit a branch or tag pointed at (huggingface_hub's {@code refs/<revision>}). */
    void writeRef(String revision, String commit) throws IOException {
        if (revision.equals(commit)) {
            return;
        }
        Path ref = refFile(revision);
        if (Files.isRegularFile(ref) && Files.readString(ref, StandardCharsets.UTF_8).trim().equals(commit)) {
            return;
        }
        Files.createDirectories(ref.getParent());
        Path tmp = Files.createTempFile(ref.getParent(), ".ref-", ".tmp");
        Files.writeString(tmp, commit, StandardCharsets.UTF_8);
        Files.move(tmp, ref, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Points {@code snapshots/<commit>/<file>} at the blob with a relative symlink (so the cache can move),
     * as huggingface_hub does; where symlinks are not allowed, the snapshot gets a copy.
     */
    void link(String commit, String file, String etag) throws IOException {
        Path pointer = pointer(commit, file);
        Files.createDirectories(pointer.getParent());
        Path target = pointer.getParent().relativize(blob(etag));
        Files.deleteIfExists(pointer);
        try {
            Files.createSymbolicLink(pointer, target);
        } catch (UnsupportedOperationException | FileSystemException e) {
            Files.copy(blob(etag), pointer, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** The repository-relative names of the regular files under a cached snapshot, in sorted order. */
    List<String> files(String commit) throws IOException {
        Path snap = snapshot(commit);
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(snap)) {
            return out;
        }
        try (Stream<Path> walk = Files.walk(snap)) {
            walk.filter(Files::isRegularFile).forEach(p -> out.add(snap.relativize(p).toString().replace('\\', '/')));
        }
        out.sort(null);
        return out;
    }

    /** The hub cache folder (for messages). */
    Path root() {
        return root;
    }
}
