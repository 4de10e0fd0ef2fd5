package org.llamawb.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.BadInputException;
import org.llamawb.model.gguf.GgufFile;
import org.llamawb.model.gguf.GgufWriter;

/**
 * GGUF files with a byte-level BPE ({@code "gpt2"}) vocabulary bring their own tokenizer, giving the ids
 * Hugging Face tokenizers gives on the equivalent, hand-written {@code tokenizer.json}; writing one back
 * (as {@code export --format gguf} does) keeps it.
 */
class GgufByteLevelVocabularyTest {
    @TempDir
    Path tmp;

    static final List<String> TEXTS = List.of("hello the world", " hello  world\n\n\tin a", "<|im_start|>user\nhello<|im_end|>",
            "café 🦙 12345 I'm", "", "   ", "worldworld the");

    static final TinyBpe BPE = new TinyBpe(List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>"));

    /** A GGUF file holding only the vocabulary, as llama.cpp's converter writes it. */
    Path gguf(String name, String pre, boolean addBos) throws Exception {
        int[] types = new int[BPE.tokens.size()];
        for (int i = 0; i < types.length; i++) {
            types[i] = i < BPE.specials.size() ? PieceType.CONTROL.id() : PieceType.NORMAL.id();
        }
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", "llama")
                .putString("tokenizer.ggml.model", "gpt2")
                .putStrings("tokenizer.ggml.tokens", BPE.tokens.toArray(String[]::new))
                .putInt32s("tokenizer.ggml.token_type", types)
                .putStrings("tokenizer.ggml.merges", TinyBpe.MERGES.toArray(String[]::new))
                .putUint32("tokenizer.ggml.bos_token_id", 0)
                .putUint32("tokenizer.ggml.eos_token_id", 2)
                .putBool("tokenizer.ggml.add_bos_token", addBos)
                .putString("tokenizer.chat_template", "{{ messages }}");
        if (pre != null) {
            w.putString("tokenizer.ggml.pre", pre);
        }
        Path p = tmp.resolve(name + ".gguf");
        w.write(p);
        return p;
    }

    /** The reference: Hugging Face tokenizers on a tokenizer.json written as the model family publishes it. */
    static LlamaTokenizer reference(Path dir, String tokenizerJson, String bos) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("tokenizer.json"), tokenizerJson);
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"bos_token\": \"" + bos + "\", \"eos_token\": \"<|im_end|>\"}");
        return LlamaTokenizer.load(dir);
    }

    static void assertSameIds(LlamaTokenizer expected, LlamaTokenizer actual) {
        for (String text : TEXTS) {
            assertArrayEquals(expected.encode(text, false), actual.encode(text, false), text);
            assertEquals(expected.decode(expected.encode(text, false)), actual.decode(actual.encode(text, false)), text);
        }
        assertEquals(expected.addsBosByDefault(), actual.addsBosByDefault());
        assertEquals(expected.bosId(), actual.bosId());
        assertEquals(expected.eosId(), actual.eosId());
    }

    @Test
    void gpt2VocabularyTokenizesAsItsTokenizerJson() throws Exception {
        try (LlamaTokenizer fromGguf = LlamaTokenizer.load(gguf("gpt2", "default", false));
                LlamaTokenizer hf = reference(tmp.resolve("ref"), BPE.tokenizerJson(null), "<|endoftext|>")) {
            assertSameIds(hf, fromGguf);
            assertFalse(fromGguf.addsBosByDefault());
            assertEquals("{{ messages }}", fromGguf.chatTemplate().orElseThrow());
            assertArrayEquals(new int[] {BPE.id("hello"), BPE.id("Ġthe"), BPE.id("Ġworld")}, fromGguf.encode("hello the world", false));
            assertArrayEquals(new int[] {1, BPE.id("u"), BPE.id("s"), BPE.id("e"), BPE.id("r"), BPE.id("Ċ"), BPE.id("hello"), 2},
                    fromGguf.encode("<|im_start|>user\nhello<|im_end|>", false), "control tokens are matched whole");
        }
        // add_bos_token: the same tokenizer.json with a BOS-first post-processor.
        try (LlamaTokenizer fromGguf = LlamaTokenizer.load(gguf("gpt2-bos", "gpt2", true));
                LlamaTokenizer hf = reference(tmp.resolve("ref-bos"), BPE.tokenizerJson("<|endoftext|>"), "<|endoftext|>")) {
            assertSameIds(hf, fromGguf);
            assertTrue(fromGguf.addsBosByDefault());
        }
    }

    @Test
    void eachPreTokenizerSplitsAsTheFamilysTokenizerJson() throws Exception {
        ObjectMapper json = new ObjectMapper();
        // The pre_tokenizer entries of SmolLM2's, Llama 3's and Qwen2's published tokenizer.json files.
        String byteLevel = "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": %s}";
        String split = "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"%s\"}, \"behavior\": \"Isolated\", \"invert\": false}";
        String llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+";
        String qwen2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+";
        String[][] cases = {
            {"smollm", "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Digits\", \"individual_digits\": true}, "
                    + byteLevel.formatted("true") + "]}", "false"},
            {"llama-bpe", "{\"type\": \"Sequence\", \"pretokenizers\": [" + split.formatted(llama3) + ", "
                    + byteLevel.formatted("false") + "]}", "true"},
            {"qwen2", "{\"type\": \"Sequence\", \"pretokenizers\": [" + split.formatted(qwen2) + ", "
                    + byteLevel.formatted("false") + "]}", "false"},
        };
        for (String[] c : cases) {
            ObjectNode root = (ObjectNode) json.readTree(BPE.tokenizerJson(null));
            root.set("pre_tokenizer", json.readTree(c[1]));
            ((ObjectNode) root.get("model")).put("ignore_merges", Boolean.parseBoolean(c[2]));
            try (LlamaTokenizer fromGguf = LlamaTokenizer.load(gguf(c[0], c[0], false));
                    LlamaTokenizer hf = reference(tmp.resolve("ref-" + c[0]), root.toString(), "<|endoftext|>")) {
                assertSameIds(hf, fromGguf);
                assertEquals(c[0], fromGguf.byteLevelBpe().orElseThrow().pre().ggufName());
                assertEquals(c[0], hf.byteLevelBpe().orElseThrow().pre().ggufName(), "recognised in the published form");
            }
        }
        try (LlamaTokenizer smol = LlamaTokenizer.load(gguf("digits", "smollm", false));
                LlamaTokenizer gpt2 = LlamaTokenizer.load(gguf("nodigits", "gpt2", false))) {
            assertEquals(5, smol.encode("12345", false).length);
            assertEquals(List.of(BPE.id("1"), BPE.id("2")), List.of(smol.encode("12", false)[0], smol.encode("12", false)[1]));
            assertEquals(5, gpt2.encode("12345", false).length, "no merges of digits in this vocabulary either");
        }
    }

    @Test
    void writingItBackKeepsTheTokenizerAndIsReadableByAll() throws Exception {
        try (LlamaTokenizer hf = reference(tmp.resolve("ref"), BPE.tokenizerJson("<|endoftext|>"), "<|endoftext|>")) {
            GgufWriter w = new GgufWriter().putString("general.architecture", "llama");
            GgufVocabulary.write(hf, w);
            Path out = tmp.resolve("written.gguf");
            w.write(out);
            assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(out)),
                    "the default permissions under umask 022, not a temporary file's 0600");
            try (GgufFile f = GgufFile.open(out)) {
                assertEquals("gpt2", f.optString("tokenizer.ggml.model").orElseThrow());
                assertEquals("gpt2", f.optString("tokenizer.ggml.pre").orElseThrow());
                assertEquals(TinyBpe.MERGES, List.of(f.strings("tokenizer.ggml.merges")));
                assertEquals(PieceType.CONTROL.id(), f.integers("tokenizer.ggml.token_type")[1]);
                assertTrue(f.optBool("tokenizer.ggml.add_bos_token").orElseThrow());
            }
            try (LlamaTokenizer back = LlamaTokenizer.load(out)) {
                assertSameIds(hf, back);
            }
        }
    }

    @Test
    void unknownPreTokenizerIsOneLineNamingTheKey() throws Exception {
        Path p = gguf("odd", "deepseek-coder", false);
        BadInputException e = assertThrows(BadInputException.class, () -> LlamaTokenizer.load(p));
        assertTrue(e.getMessage().contains("tokenizer.ggml.pre is 'deepseek-coder'"), e.getMessage());
        assertTrue(e.getMessage().contains("--tokenizer"), e.getMessage());
    }
}
