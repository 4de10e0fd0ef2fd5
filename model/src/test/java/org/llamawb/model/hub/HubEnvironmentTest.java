package org.llamawb.model.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.BadInputException;

/** The variables huggingface_hub reads, with its defaults and precedence. */
class HubEnvironmentTest {
    @TempDir
    Path tmp;

    private static HubEnvironment of(Map<String, String> env) {
        return HubEnvironment.of(env, System.err, false);
    }

    @Test
    void cacheFoldersFollowHuggingfaceHubsPrecedence() {
        Path home = Path.of(System.getProperty("user.home"));
        HubEnvironment none = of(Map.of());
        assertEquals(home.resolve(".cache/huggingface/hub"), none.hubCache());
        assertEquals(home.resolve(".cache/llama-workbench/urls"), none.urlCache());
        assertEquals("https://huggingface.co", none.endpoint());
        assertFalse(none.offline());
        assertEquals(Path.of("/x/huggingface/hub"), of(Map.of("XDG_CACHE_HOME", "/x")).hubCache());
        assertEquals(Path.of("/h/hub"), of(Map.of("XDG_CACHE_HOME", "/x", "HF_HOME", "/h")).hubCache());
        assertEquals(Path.of("/c"), of(Map.of("HF_HOME", "/h", "HF_HUB_CACHE", "/c")).hubCache());
        assertEquals(Path.of("/w/urls"), of(Map.of("WORKBENCH_CACHE", "/w")).urlCache());
        assertEquals("http://127.0.0.1:9", of(Map.of("HF_ENDPOINT", "http://127.0.0.1:9/")).endpoint());
    }

    @Test
    void offlineTakesTheValuesHuggingfaceHubTakes() {
        for (String yes : new String[] {"1", "true", "YES", "on"}) {
            assertTrue(of(Map.of("HF_HUB_OFFLINE", yes)).offline(), yes);
        }
        for (String no : new String[] {"0", "false", "", "offline"}) {
            assertFalse(of(Map.of("HF_HUB_OFFLINE", no)).offline(), no);
        }
    }

    @Test
    void theTokenComesFromHfTokenElseTheLoginFile() throws Exception {
        Files.writeString(tmp.resolve("token"), "hf_file\n");
        assertEquals("hf_env", of(Map.of("HF_TOKEN", "hf_env", "HF_HOME", tmp.toString())).token());
        assertEquals("hf_file", of(Map.of("HF_HOME", tmp.toString())).token());
        assertNull(of(Map.of("HF_HOME", tmp.resolve("empty").toString())).token());
    }

    @Test
    void urlMirrorsRewriteWhereAUrlIsFetchedFrom() {
        HubEnvironment e = of(Map.of("WORKBENCH_URL_MIRROR", "https://a.example/=http://127.0.0.1:1/a/; https://=http://127.0.0.1:1/raw/"));
        assertEquals("http://127.0.0.1:1/a/x.json", e.fetchUrl("https://a.example/x.json"));
        assertEquals("http://127.0.0.1:1/raw/b.example/y.json", e.fetchUrl("https://b.example/y.json"));
        assertEquals("http://c.example/z", e.fetchUrl("http://c.example/z"));
        assertEquals("WORKBENCH_URL_MIRROR: expected PREFIX=REPLACEMENT, got 'https://x'",
                assertThrows(BadInputException.class, () -> of(Map.of("WORKBENCH_URL_MIRROR", "https://x"))).getMessage());
        assertEquals("HF_ENDPOINT: expected a URL such as https://huggingface.co, got 'huggingface.co'",
                assertThrows(BadInputException.class, () -> of(Map.of("HF_ENDPOINT", "huggingface.co"))).getMessage());
    }
}
