package org.llamawb.model.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.BadInputException;
import org.llamawb.model.TestData;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.weights.Checkpoint;

/**
 * The real download code against a loopback Hub ({@link HubMirror}) serving the stories260K files and
 * FastChat's conversations from {@code ../shared/data}: the cache layout, resume, hashes, tokens, offline
 * use, each with the line a user reads.
 */
class HubDownloadTest {
    private static final String MODEL = "hf:karpathy/tinyllamas/stories260K/stories260K.bin";

    @TempDir
    Path home;

    HubMirror mirror;
    Path bin;
    Path tok;
    ByteArrayOutputStream log;

    @BeforeEach
    void start() throws IOException {
        bin = TestData.require("models/stories260K/stories260K.bin");
        tok = TestData.require("models/stories260K/tok512.bin");
        mirror = HubMirror.start()
                .model("karpathy/tinyllamas", "stories260K/stories260K.bin", bin)
                .model("karpathy/tinyllamas", "stories260K/tok512.bin", tok)
                .model("karpathy/tinyllamas", "stories260K/tok512.model", TestData.require("models/stories260K/tok512.model"))
                .model("karpathy/tinyllamas", "README.md", TestData.require("models/stories260K/stories260K.md"));
    }

    @AfterEach
    void stop() {
        mirror.close();
    }

    private HubEnvironment env(String... extra) {
        Map<String, String> m = new HashMap<>();
        m.put("HF_HOME", home.resolve("hf").toString());
        m.put("HF_ENDPOINT", mirror.endpoint());
        m.put("WORKBENCH_CACHE", home.resolve("wb").toString());
        for (int i = 0; i < extra.length; i += 2) {
            m.put(extra[i], extra[i + 1]);
        }
        log = new ByteArrayOutputStream();
        return HubEnvironment.of(m, new PrintStream(log, true, StandardCharsets.UTF_8), false);
    }

    private String logged() {
        return log.toString(StandardCharsets.UTF_8);
    }

    private Path repoDir() {
        return home.resolve("hf/hub/models--karpathy--tinyllamas");
    }

    @Test
    void downloadsIntoTheHuggingFaceCacheLayoutWithTheTokenizerBeside() throws IOException {
        Path p = Sources.resolve(MODEL, null, env());
        String commit = mirror.commit("models", "karpathy/tinyllamas");
        assertEquals(repoDir().resolve("snapshots/" + commit + "/stories260K/stories260K.bin"), p);
        assertEquals(commit, Files.readString(repoDir().resolve("refs/main")));
        assertTrue(Files.readString(home.resolve("hf/hub/CACHEDIR.TAG")).startsWith("Signature: 8a477f597d28d172789f06886806bc55\n"));
        String sha = HubMirror.sha256(bin);
        // A relative link into blobs/, named by the sha256 of the LFS file, as huggingface_hub makes it.
        assertTrue(Files.isSymbolicLink(p));
        assertEquals(Path.of("../../../blobs/" + sha), Files.readSymbolicLink(p));
        assertArrayEquals(Files.readAllBytes(bin), Files.readAllBytes(repoDir().resolve("blobs/" + sha)));
        assertArrayEquals(Files.readAllBytes(tok), Files.readAllBytes(p.resolveSibling("tok512.bin")));
        assertFalse(Files.exists(p.getParent().getParent().resolve("README.md")), "only the file and its tokenizer");
        try (Stream<Path> blobs = Files.list(repoDir().resolve("blobs"))) {
            assertTrue(blobs.noneMatch(b -> b.toString().endsWith(".incomplete")));
        }
        assertTrue(logged().contains("downloading karpathy/tinyllamas/stories260K/stories260K.bin (1.0 MiB)"), logged());
        assertTrue(logged().contains("downloaded karpathy/tinyllamas/stories260K/stories260K.bin: 1.0 MiB in "), logged());
        // What was downloaded loads: the checkpoint, and the tokenizer found beside it.
        try (Checkpoint c = Checkpoint.open(p); LlamaTokenizer t = LlamaTokenizer.forCheckpoint(c, null)) {
            assertEquals(512, t.vocabSize());
        }

        // Again: only the listing is asked for; nothing is fetched.
        int before = mirror.requests().size();
        assertEquals(p, Sources.resolve(MODEL, null, env()));
        assertEquals(List.of("GET /api/models/karpathy/tinyllamas/revision/main"), mirror.requests().subList(before, mirror.requests().size()));
    }

    @Test
    void resumesWhereACutConnectionStopped() throws IOException {
        mirror.cutNextDownloads(1, 300_000);
        Path p = Sources.resolve(MODEL, null, env());
        assertArrayEquals(Files.readAllBytes(bin), Files.readAllBytes(p));
        String sha = HubMirror.sha256(bin);
        // The second request asks for the rest, from where the bytes that arrived end.
        List<String> gets = mirror.requests().stream().filter(r -> r.startsWith("GET /cdn/" + sha)).toList();
        assertEquals(2, gets.size(), gets.toString());
        long at = Long.parseLong(gets.get(1).replaceAll(".* bytes=(\\d+)-$", "$1"));
        assertTrue(at > 0 && at <= 300_000, gets.toString());
        assertTrue(logged().contains("karpathy/tinyllamas/stories260K/stories260K.bin: the connection closed at byte " + at + "; "
                + "resuming at byte " + at + " (attempt 2 of 5)\n"), logged());
    }

    @Test
    void aDownloadThatKeepsFailingResumesOnTheNextRun() throws IOException {
        // The first attempt gets 100,000 bytes, the four resumed ones nothing more.
        mirror.cutNextDownloads(Downloader.ATTEMPTS, 100_000);
        BadInputException e = assertThrows(BadInputException.class, () -> Sources.resolve(MODEL, null, env()));
        String sha = HubMirror.sha256(bin);
        Path incomplete = repoDir().resolve("blobs/" + sha + ".incomplete");
        assertEquals("download of karpathy/tinyllamas/stories260K/stories260K.bin stopped at 100000 of 1056540 bytes after 5 attempts"
                + " (the connection closed at byte 100000); run the command again to resume from " + incomplete, e.getMessage());
        assertEquals(100_000, Files.size(incomplete));

        // The next run asks only for the rest.
        Path p = Sources.resolve(MODEL, null, env());
        assertArrayEquals(Files.readAllBytes(bin), Files.readAllBytes(p));
        assertEquals("GET /cdn/" + sha + " bytes=100000-", mirror.requests().stream().filter(r -> r.startsWith("GET /cdn/" + sha))
                .reduce((a, b) -> b).orElseThrow());
        assertTrue(logged().contains("downloading karpathy/tinyllamas/stories260K/stories260K.bin (1.0 MiB, resuming at 97.7 KiB)"), logged());
        assertFalse(Files.exists(incomplete));
    }

    @Test
    void aWrongHashIsRefusedAndThePartialFileRemoved() throws IOException {
        byte[] bad = Files.readAllBytes(bin);
        bad[1000] ^= 1;
        mirror.corrupt("stories260K/stories260K.bin", bad);
        BadInputException e = assertThrows(BadInputException.class, () -> Sources.resolve(MODEL, null, env()));
        String sha = HubMirror.sha256(bin);
        assertTrue(e.getMessage().startsWith("download of karpathy/tinyllamas/stories260K/stories260K.bin is corrupt: its sha256 is "),
                e.getMessage());
        assertTrue(e.getMessage().endsWith(" but the Hub's is " + sha
                + "; the partial file was removed, run the command again to download it afresh"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertFalse(Files.exists(repoDir().resolve("blobs/" + sha + ".incomplete")));
        assertFalse(Files.exists(repoDir().resolve("blobs/" + sha)));
        assertFalse(Files.exists(repoDir().resolve("snapshots/" + mirror.commit("models", "karpathy/tinyllamas") + "/stories260K/stories260K.bin")));
    }

    @Test
    void aFileOutsideLfsIsCheckedAgainstItsGitBlobId() throws IOException {
        Path json = TestData.require("sft/fastchat-dummy-conversation/dummy_conversation.json");
        mirror.dataset("lm-sys/fastchat-dummy", "data/train.json", json);
        byte[] bad = Files.readAllBytes(json);
        bad[10] = 'X';
        mirror.corrupt("data/train.json", bad);
        BadInputException e = assertThrows(BadInputException.class,
                () -> Sources.resolve("hf:datasets/lm-sys/fastchat-dummy", null, env()));
        assertTrue(e.getMessage().matches("download of lm-sys/fastchat-dummy/data/train.json is corrupt: its git blob sha1 is [0-9a-f]{40} "
                + "but the Hub's is " + HubMirror.gitSha1(Files.readAllBytes(json)) + "; the partial file was removed, .*"), e.getMessage());
    }

    @Test
    void aPrivateRepositoryWithoutATokenSaysToSetHfToken() throws IOException {
        mirror.requireToken("hf_test_token");
        BadInputException e = assertThrows(BadInputException.class, () -> Sources.resolve(MODEL, null, env()));
        assertEquals("karpathy/tinyllamas: the Hub answered 401 Unauthorized: it is private or gated; set HF_TOKEN to an access token "
                + "that can read it (https://huggingface.co/settings/tokens)", e.getMessage());

        BadInputException wrong = assertThrows(BadInputException.class, () -> Sources.resolve(MODEL, null, env("HF_TOKEN", "hf_other")));
        assertEquals("karpathy/tinyllamas: the Hub refused the token in HF_TOKEN (401 Unauthorized): it is invalid or expired",
                wrong.getMessage());

        Path p = Sources.resolve(MODEL, null, env("HF_TOKEN", "hf_test_token"));
        assertArrayEquals(Files.readAllBytes(bin), Files.readAllBytes(p));
        // The token goes to the Hub, never to the CDN it redirects to.
        String sha = HubMirror.sha256(bin);
        assertTrue(mirror.requests().contains("HEAD /karpathy/tinyllamas/resolve/" + mirror.commit("models", "karpathy/tinyllamas")
                + "/stories260K/stories260K.bin auth"), mirror.requests().toString());
        assertTrue(mirror.requests().contains("GET /cdn/" + sha), mirror.requests().toString());
    }

    @Test
    void theTokenFileOfHfLoginIsUsedWhenHfTokenIsUnset() throws IOException {
        mirror.requireToken("hf_saved");
        Files.createDirectories(home.resolve("hf"));
        Files.writeString(home.resolve("hf/token"), "hf_saved\n");
        assertArrayEquals(Files.readAllBytes(bin), Files.readAllBytes(Sources.resolve(MODEL, null, env())));
    }

    @Test
    void offlineWithAnEmptyCacheNamesTheFolderToFill() {
        BadInputException e = assertThrows(BadInputException.class, () -> Sources.resolve(MODEL, null, env("HF_HUB_OFFLINE", "1")));
        assertEquals("HF_HUB_OFFLINE is set and " + MODEL + " is not in the Hub cache: fill " + repoDir() + " ("
                + repoDir().resolve("refs/main") + " is missing); run once without HF_HUB_OFFLINE where the Hub can be reached, "
                + "or `hf download karpathy/tinyllamas stories260K/stories260K.bin`", e.getMessage());
        assertEquals(List.of(), mirror.requests());
    }

    @Test
    void offlineWithACacheAsksNothingOfTheNetwork() throws IOException {
        Path p = Sources.resolve(MODEL, null, env());
        int before = mirror.requests().size();
        assertEquals(p, Sources.resolve(MODEL, null, env("HF_HUB_OFFLINE", "true")));
        assertEquals(before, mirror.requests().size());
        // A file of the repository that was never fetched: the line names exactly what to fill.
        BadInputException e = assertThrows(BadInputException.class,
                () -> Sources.resolve("hf:karpathy/tinyllamas/README.md", null, env("HF_HUB_OFFLINE", "1")));
        assertTrue(e.getMessage().startsWith("HF_HUB_OFFLINE is set and hf:karpathy/tinyllamas/README.md is not in the Hub cache: fill "
                + repoDir().resolve("snapshots/" + mirror.commit("models", "karpathy/tinyllamas") + "/README.md")), e.getMessage());
    }

    @Test
    void anUnreachableHubFallsBackToTheCacheOrSaysItIsEmpty() throws IOException {
        Path p = Sources.resolve(MODEL, null, env());
        String down = "http://127.0.0.1:1";
        assertEquals(p, Sources.resolve(MODEL, null, env("HF_ENDPOINT", down)));
        assertTrue(logged().startsWith("note: cannot reach " + down + " ("), logged());

        BadInputException e = assertThrows(BadInputException.class,
                () -> Sources.resolve("hf:karpathy/other/x.bin", null, env("HF_ENDPOINT", down)));
        assertTrue(e.getMessage().startsWith("cannot reach " + down + " for hf:karpathy/other/x.bin ("), e.getMessage());
        assertTrue(e.getMessage().endsWith(") and it is not in the cache " + home.resolve("hf/hub/models--karpathy--other")
                + "; check the network and HF_ENDPOINT"), e.getMessage());
    }

    /** A cache as Python's huggingface_hub leaves it (written here by hand, byte for byte its layout) is read. */
    @Test
    void readsACacheWrittenByHuggingfaceHub() throws IOException {
        String commit = "0123456789abcdef0123456789abcdef01234567";
        Path repo = home.resolve("cache/models--karpathy--tinyllamas");
        String sha = HubMirror.sha256(bin);
        Files.createDirectories(repo.resolve("blobs"));
        Files.copy(bin, repo.resolve("blobs/" + sha));
        Files.createDirectories(repo.resolve("snapshots/" + commit + "/stories260K"));
        Files.createSymbolicLink(repo.resolve("snapshots/" + commit + "/stories260K/stories260K.bin"), Path.of("../../../blobs/" + sha));
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), commit);
        Path p = Sources.resolve(MODEL, null, env("HF_HUB_CACHE", home.resolve("cache").toString(), "HF_HUB_OFFLINE", "1"));
        assertEquals(repo.resolve("snapshots/" + commit + "/stories260K/stories260K.bin"), p);
        assertArrayEquals(Files.readAllBytes(bin), Files.readAllBytes(p));
    }

    @Test
    void aDatasetSplitAndAPinnedUrlResolveToOneFileEach() throws IOException {
        Path json = TestData.require("sft/fastchat-dummy-conversation/dummy_conversation.json");
        mirror.dataset("lm-sys/fastchat-dummy", "README.md", TestData.require("models/stories260K/stories260K.md"))
                .dataset("lm-sys/fastchat-dummy", "data/train-00000-of-00001.json", json)
                .dataset("lm-sys/fastchat-dummy", "data/test-00000-of-00001.json", TestData.require("models/stories260K/stories260K.md"));
        Path train = Sources.resolve("hf:datasets/lm-sys/fastchat-dummy", null, env());
        assertEquals(home.resolve("hf/hub/datasets--lm-sys--fastchat-dummy/snapshots/" + mirror.commit("datasets", "lm-sys/fastchat-dummy")
                + "/data/train-00000-of-00001.json"), train);
        assertArrayEquals(Files.readAllBytes(json), Files.readAllBytes(train));
        Path test = Sources.resolve("hf:datasets/lm-sys/fastchat-dummy#test", null, env());
        assertEquals("test-00000-of-00001.json", test.getFileName().toString());
        BadInputException none = assertThrows(BadInputException.class,
                () -> Sources.resolve("hf:datasets/lm-sys/fastchat-dummy#validation", null, env()));
        assertTrue(none.getMessage().startsWith("hf:datasets/lm-sys/fastchat-dummy#validation: no data file of split 'validation'"),
                none.getMessage());

        String url = "https://raw.githubusercontent.com/lm-sys/FastChat/0e6d3e4beaab66f4d3f93db72541a4abab8af28d/data/dummy_conversation.json";
        mirror.raw("lm-sys/FastChat/0e6d3e4beaab66f4d3f93db72541a4abab8af28d/data/dummy_conversation.json", json);
        HubEnvironment viaMirror = env("WORKBENCH_URL_MIRROR", "https://raw.githubusercontent.com/=" + mirror.endpoint() + "/raw/");
        Path got = Sources.resolve(url + "#sha256=" + HubMirror.sha256(json), null, viaMirror);
        assertTrue(logged().startsWith("downloading " + url + " (228.7 KiB)\ndownloaded " + url + ": 228.7 KiB in "), logged());
        assertArrayEquals(Files.readAllBytes(json), Files.readAllBytes(got));
        assertEquals("dummy_conversation.json", got.getFileName().toString());
        assertTrue(got.startsWith(home.resolve("wb/urls")));
        assertEquals(got, Sources.resolve(url, null, env("HF_HUB_OFFLINE", "1")), "cached under the URL as written");

        BadInputException pinned = assertThrows(BadInputException.class,
                () -> Sources.resolve(url.replace("dummy_conversation", "other") + "#sha256=" + "0".repeat(64), null, viaMirror));
        assertTrue(pinned.getMessage().contains(" answered HTTP 404") || pinned.getMessage().contains("corrupt"), pinned.getMessage());
    }

    @Test
    void aRenamedRepositoryIsFollowedAndCachedUnderTheNameGiven() throws IOException {
        mirror.renamed("karpathy/old-tinyllamas", "karpathy/tinyllamas");
        Path p = Sources.resolve("hf:karpathy/old-tinyllamas/stories260K/stories260K.bin", null, env());
        assertTrue(p.startsWith(home.resolve("hf/hub/models--karpathy--old-tinyllamas/snapshots")), p.toString());
        assertArrayEquals(Files.readAllBytes(bin), Files.readAllBytes(p));
        assertTrue(mirror.requests().contains("HEAD /karpathy/tinyllamas/resolve/" + mirror.commit("models", "karpathy/tinyllamas")
                + "/stories260K/stories260K.bin"), mirror.requests().toString());
    }

    @Test
    void localPathsPassThrough() {
        assertEquals(Path.of("a/b.json"), Sources.resolve("a/b.json"));
        assertEquals(Path.of("/r/a/b.json"), Sources.resolve("a/b.json", Path.of("/r")));
    }
}
