package org.llamawb.model.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.llamawb.model.BadInputException;

/**
 * Brings a {@link HubSource} into the Hub cache and returns its local path: the snapshot folder, a folder
 * in it, or a file. Files already in the snapshot are not fetched again; with {@code HF_HUB_OFFLINE} (or
 * when the Hub cannot be reached) the cache alone answers.
 */
final class HubDownload {
    private static final Pattern SAFE_ETAG = Pattern.compile("[A-Za-z0-9._-]+");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern SHA1 = Pattern.compile("[0-9a-f]{40}");
    /** A llama2.c or GGUF file's tokenizer sits beside it in the repository (llama2.c's tinyllamas: tok512.bin). */
    private static final Pattern TOKENIZER = Pattern.compile("tokenizer(\\.json|\\.model|\\.bin|_config\\.json)|tok\\d+\\.(bin|model)");
    private static final List<String> OTHER_WEIGHTS = List.of(".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx",
            ".onnx_data", ".tflite", ".ot", ".gguf", ".pb");
    private static final List<String> DATA_SUFFIXES = List.of(".parquet", ".jsonl", ".json", ".jsonl.gz", ".json.gz");

    private final HubEnvironment env;
    private final HubClient client;
    private final Downloader downloader;

    HubDownload(HubEnvironment env) {
        this.env = env;
        var http = Downloader.newClient();
        this.client = new HubClient(http, env);
        this.downloader = new Downloader(http, env);
    }

    Path resolve(HubSource s) {
        HubCache cache = new HubCache(env.hubCache(), s.type(), s.repoId());
        if (env.offline()) {
            return fromCache(s, cache, "HF_HUB_OFFLINE is set");
        }
        HubClient.RepoInfo info;
        try {
            info = client.repoInfo(s);
        } catch (IOException e) {
            if (cache.cachedCommit(s).isPresent()) {
                Path p = fromCache(s, cache, "cannot reach " + env.endpoint() + " (" + Downloader.reason(e) + ")");
                env.log().println("note: cannot reach " + env.endpoint() + " (" + Downloader.reason(e) + "); using the cached " + p);
                return p;
            }
            throw new BadInputException("cannot reach " + env.endpoint() + " for " + s + " (" + Downloader.reason(e)
                    + ") and it is not in the cache " + cache.repoDir() + "; check the network and HF_ENDPOINT");
        }
        List<String> files = select(s, info.files(), "");
        try {
            cache.tagCacheDir();
            cache.writeRef(s.revision(), info.commit());
            for (String f : files) {
                fetch(s, cache, info.commit(), f);
            }
        } catch (IOException e) {
            throw new BadInputException("cannot write the Hub cache " + cache.repoDir() + " (" + Downloader.reason(e)
                    + "); set HF_HOME or HF_HUB_CACHE to a writable folder");
        }
        return target(s, cache, info.commit(), files);
    }

    /** The files of the repository a source stands for (its file plus the tokenizer beside it, a folder, a split). */
    private List<String> select(HubSource s, List<String> repoFiles, String whereNote) {
        List<String> out = new ArrayList<>();
        String folder = "";
        if (s.path() != null) {
            if (repoFiles.contains(s.path())) {
                out.add(s.path());
                if (s.type() == HubSource.RepoType.MODEL) {
                    String dir = parent(s.path());
                    for (String f : repoFiles) {
                        if (!f.equals(s.path()) && parent(f).equals(dir) && TOKENIZER.matcher(name(f)).matches()) {
                            out.add(f);
                        }
                    }
                }
                return out;
            }
            folder = s.path() + "/";
            for (String f : repoFiles) {
                if (f.startsWith(folder)) {
                    out.add(f);
                }
            }
            if (out.isEmpty()) {
                throw new BadInputException(s + ": no file or folder '" + s.path() + "' in " + s.repoId() + " at " + s.revision()
                        + whereNote + " (it holds " + listing(repoFiles) + ")");
            }
            if (s.type() == HubSource.RepoType.MODEL || s.split() == null) {
                return out;
            }
        }
        if (s.type() == HubSource.RepoType.MODEL) {
            return checkpointFiles(repoFiles);
        }
        // A dataset without a file: the files of one split, found by the Hub's naming conventions.
        String split = s.split() == null ? "train" : s.split();
        List<String> data = new ArrayList<>();
        for (String f : out.isEmpty() ? repoFiles : out) {
            if (isData(f) && inSplit(f.substring(folder.length()), split)) {
                data.add(f);
            }
        }
        String named = "hf:datasets/" + s.repoId() + ("main".equals(s.revision()) ? "" : "@" + s.revision()) + "/PATH";
        if (data.isEmpty()) {
            throw new BadInputException(s + ": no data file of split '" + split + "' in dataset " + s.repoId() + whereNote
                    + " (it holds " + listing(repoFiles) + "); name one as " + named);
        }
        if (data.size() > 1) {
            throw new BadInputException(s + ": split '" + split + "' is " + data.size() + " files (" + listing(data)
                    + "); a source reads one file: name each as its own source, " + named);
        }
        return data;
    }

    /**
     * The files of a whole model repository the loader reads: when it has safetensors, the copies of the
     * weights in other formats (PyTorch .bin, TensorFlow, Flax, ONNX, GGUF quantisations) are left on the
     * Hub, as they often are many times the model's size. A repository without safetensors is fetched whole.
     */
    static List<String> checkpointFiles(List<String> repoFiles) {
        if (repoFiles.stream().noneMatch(f -> f.endsWith(".safetensors"))) {
            return repoFiles;
        }
        List<String> out = new ArrayList<>();
        for (String f : repoFiles) {
            String lower = f.toLowerCase(Locale.ROOT);
            boolean otherWeights = OTHER_WEIGHTS.stream().anyMatch(lower::endsWith) && !TOKENIZER.matcher(name(f)).matches();
            if (!otherWeights && !lower.startsWith("onnx/") && !lower.startsWith("openvino/")) {
                out.add(f);
            }
        }
        return out;
    }

    /** HF datasets' split patterns: {@code train.json}, {@code train-0000.parquet}, {@code data/train/...}, {@code x_train.jsonl}. */
    static boolean inSplit(String relative, String split) {
        String lower = relative.toLowerCase(Locale.ROOT);
        for (String part : lower.split("/")) {
            String stem = part;
            for (String suffix : DATA_SUFFIXES) {
                if (stem.endsWith(suffix)) {
                    stem = stem.substring(0, stem.length() - suffix.length());
                    break;
                }
            }
            for (String token : stem.split("[-_. ]")) {
                if (token.equals(split)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean isData(String f) {
        String lower = f.toLowerCase(Locale.ROOT);
        return DATA_SUFFIXES.stream().anyMatch(lower::endsWith);
    }

    /** What the source resolves to once its files are in the snapshot. */
    private static Path target(HubSource s, HubCache cache, String commit, List<String> files) {
        if (s.type() == HubSource.RepoType.DATASET && (s.path() == null || s.split() != null) && files.size() == 1) {
            return cache.pointer(commit, files.get(0)); // a split's one file
        }
        return s.path() == null ? cache.snapshot(commit) : cache.pointer(commit, s.path());
    }

    private Path fromCache(HubSource s, HubCache cache, String why) {
        String fill = "; " + (env.offline() ? "run once without HF_HUB_OFFLINE where the Hub can be reached, or " : "run ")
                + "`hf download " + (s.type() == HubSource.RepoType.DATASET ? "--repo-type dataset " : "") + s.repoId()
                + (s.path() == null ? "" : " " + s.path()) + ("main".equals(s.revision()) ? "" : " --revision " + s.revision()) + "`";
        Optional<String> commit = cache.cachedCommit(s);
        if (commit.isEmpty()) {
            Path missing = s.revisionIsCommit() ? cache.snapshot(s.revision()) : cache.refFile(s.revision());
            throw new BadInputException(why + " and " + s + " is not in the Hub cache: fill " + cache.repoDir()
                    + " (" + missing + " is missing)" + fill);
        }
        try {
            List<String> files = select(s, cache.files(commit.get()), " (cached snapshot " + commit.get() + ")");
            for (String f : files) {
                if (!Files.exists(cache.pointer(commit.get(), f))) { // a dangling link: its blob was removed
                    throw new BadInputException(why + " and " + cache.pointer(commit.get(), f) + " points at a missing blob: fill "
                            + cache.repoDir() + fill);
                }
            }
            return target(s, cache, commit.get(), files);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (BadInputException e) {
            if (s.path() != null && !Files.exists(cache.pointer(commit.get(), s.path()))) {
                throw new BadInputException(why + " and " + s + " is not in the Hub cache: fill "
                        + cache.pointer(commit.get(), s.path()) + fill);
            }
            throw e;
        }
    }

    /** One file into {@code blobs/} (unless there already) and its snapshot link. */
    private void fetch(HubSource s, HubCache cache, String commit, String file) throws IOException {
        if (Files.exists(cache.pointer(commit, file))) {
            return;
        }
        String what = s.repoId() + "/" + file;
        HubClient.FileMeta meta;
        try {
            meta = client.head(s, commit, file);
        } catch (IOException e) {
            throw new BadInputException("cannot reach " + env.endpoint() + " for " + what + " (" + Downloader.reason(e)
                    + "); run the command again");
        }
        String etag = meta.etag();
        if (!SAFE_ETAG.matcher(etag).matches()) {
            throw new BadInputException(what + ": the Hub's ETag '" + etag + "' cannot name a cache file");
        }
        Path blob = cache.blob(etag);
        Path lockFile = cache.lock(etag);
        Files.createDirectories(lockFile.getParent());
        Files.createDirectories(blob.getParent());
        // Another process (or Python) may be fetching the same blob: wait for it, as huggingface_hub's lock does.
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock = ch.lock()) {
            if (!Files.isRegularFile(blob)) {
                Path incomplete = cache.incomplete(etag);
                // huggingface_hub drops the token when the bytes live elsewhere (a CDN's signed URL needs none).
                var auth = HubClient.sameOrigin(meta.location(), URI.create(env.endpoint())) ? client.authHeaders() : Map.<String, String>of();
                downloader.fetch(meta.location(), auth, incomplete, meta.size(), what);
                verify(incomplete, etag, meta.size(), what);
                Files.move(incomplete, blob, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            cache.link(commit, file, etag);
        }
    }

    /**
     * Checks a finished download against what the Hub said: the size, and the ETag, which is the sha256 of
     * an LFS file and the git blob sha1 of any other. A mismatch removes the file (a resume would only
     * extend a wrong prefix).
     */
    private void verify(Path file, String etag, long size, String what) throws IOException {
        long got = Files.size(file);
        String problem = null;
        if (size >= 0 && got != size) {
            problem = "it is " + got + " bytes but the Hub says " + size;
        } else if (SHA256.matcher(etag).matches()) {
            String h = Downloader.sha256(file);
            problem = h.equals(etag) ? null : "its sha256 is " + h + " but the Hub's is " + etag;
        } else if (SHA1.matcher(etag).matches()) {
            String h = Downloader.gitBlobSha1(file);
            problem = h.equals(etag) ? null : "its git blob sha1 is " + h + " but the Hub's is " + etag;
        } else {
            env.log().println("note: " + what + ": the Hub's ETag '" + etag + "' is not a hash; only the size was checked");
        }
        if (problem != null) {
            Downloader.delete(file);
            throw new BadInputException("download of " + what + " is corrupt: " + problem
                    + "; the partial file was removed, run the command again to download it afresh");
        }
    }

    private static String parent(String f) {
        int slash = f.lastIndexOf('/');
        return slash < 0 ? "" : f.substring(0, slash);
    }

    private static String name(String f) {
        return f.substring(f.lastIndexOf('/') + 1);
    }

    private static String listing(List<String> files) {
        if (files.isEmpty()) {
            return "no files";
        }
        int n = Math.min(8, files.size());
        return String.join(", ", files.subList(0, n)) + (files.size() > n ? ", ... " + (files.size() - n) + " more" : "");
    }
}
