package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.TestData;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.tokenizer.TinyBpe;

/** A raw {@code generate} prompt gets BOS exactly when the tokenizer adds it by default, as Hugging Face's does. */
class PromptRenderingTest {
    @TempDir
    Path tmp;

    private static final TinyBpe BPE = new TinyBpe(List.of("<s>", "</s>"));

    private LlamaTokenizer write(String name, String tokenizerJson, String tokenizerConfig) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.writeString(dir.resolve("tokenizer.json"), tokenizerJson);
        if (tokenizerConfig != null) {
            Files.writeString(dir.resolve("tokenizer_config.json"), tokenizerConfig);
        }
        return LlamaTokenizer.load(dir);
    }

    @Test
    void byteLevelPostProcessorAddsNoBos() throws Exception {
        // SmolLM2's layout: a BOS token exists, but the post-processor is ByteLevel and adds nothing.
        try (LlamaTokenizer t = write("smollm2", BPE.tokenizerJson(null), null)) {
            assertEquals(0, t.bosId());
            assertFalse(t.addsBosByDefault());
            int[] ids = PromptRendering.encode(t, "hello the world", null, tmp);
            assertArrayEquals(t.encode("hello the world", false), ids);
            assertArrayEquals(new int[] {BPE.id("hello"), BPE.id("Ġthe"), BPE.id("Ġworld")}, ids);
            // Nothing else to start from: an empty prompt is BOS alone.
            assertArrayEquals(new int[] {0}, PromptRendering.encode(t, "", null, tmp));
        }
    }

    @Test
    void templateProcessingWithBosFirstAddsIt() throws Exception {
        try (LlamaTokenizer t = write("llama3", BPE.tokenizerJson("<s>"), null)) {
            assertTrue(t.addsBosByDefault());
            assertArrayEquals(new int[] {0, BPE.id("hello"), BPE.id("Ġthe"), BPE.id("Ġworld")},
                    PromptRendering.encode(t, "hello the world", null, tmp));
            // BOS already written in the prompt is not doubled.
            assertArrayEquals(new int[] {0, BPE.id("hello")}, PromptRendering.encode(t, "<s>hello", null, tmp));
        }
    }

    @Test
    void noBosTokenAtAll() throws Exception {
        // Qwen's layout: bos_token null in tokenizer_config.json.
        try (LlamaTokenizer t = write("qwen", BPE.tokenizerJson(null), "{\"bos_token\": null, \"eos_token\": \"</s>\"}")) {
            assertEquals(-1, t.bosId());
            assertFalse(t.addsBosByDefault());
            assertArrayEquals(new int[] {BPE.id("hello")}, PromptRendering.encode(t, "hello", null, tmp));
            UsageException e = assertThrows(UsageException.class, () -> PromptRendering.encode(t, "", null, tmp));
            assertTrue(e.getMessage().contains("--prompt"), e.getMessage());
        }
    }

    @Test
    void sentencePieceVocabularyKeepsItsBos() {
        // llama2.c / SentencePiece conversions carry a BOS-first post-processor: unchanged behaviour.
        try (LlamaTokenizer t = LlamaTokenizer.load(TestData.require("models/stories260K/tok512.bin"))) {
            assertTrue(t.addsBosByDefault());
            int[] ids = PromptRendering.encode(t, "Once upon a time", null, tmp);
            assertEquals(1, ids[0]);
            assertArrayEquals(t.encode("Once upon a time", true), ids);
        }
    }
}
