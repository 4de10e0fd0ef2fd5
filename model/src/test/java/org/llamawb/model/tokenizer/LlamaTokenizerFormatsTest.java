package org.llamawb.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.BadInputException;
import org.llamawb.model.TestData;

/** Loading by path, saving a transformers-loadable directory, chat templates, and bad files. */
class LlamaTokenizerFormatsTest {
    private static final List<String> TEXTS = List.of("Hello world", " Hello", "Once upon a time\n\n  there",
            "café 🦙", "<s>[INST] hi [/INST]");

    @TempDir
    Path tmp;

    private static Path tok512() {
        return TestData.require("models/stories260K/tok512.model");
    }

    @Test
    void saveWritesAConfigTransformersReadsAndLoadsBackIdentically() throws IOException {
        try (LlamaTokenizer t = LlamaTokenizer.load(tok512())) {
            assertTrue(t.chatTemplate().isEmpty(), "a SentencePiece model carries no chat template");
            t.save(tmp.resolve("out"), 512);
        }
        JsonNode c = new ObjectMapper().readTree(tmp.resolve("out/tokenizer_config.json").toFile());
        assertEquals("<s>", c.get("bos_token").asText());
        assertEquals("</s>", c.get("eos_token").asText());
        assertEquals("<unk>", c.get("unk_token").asText());
        assertTrue(c.get("add_bos_token").asBoolean());
        assertFalse(c.get("add_eos_token").asBoolean());
        assertEquals(512, c.get("model_max_length").asInt());
        assertEquals("PreTrainedTokenizerFast", c.get("tokenizer_class").asText());
        assertEquals("<s>", c.get("added_tokens_decoder").get("1").get("content").asText());

        // A chat template beside tokenizer.json is picked up, and saved again.
        String template = "{% for m in messages %}{{ m['content'] }}{% endfor %}";
        ((com.fasterxml.jackson.databind.node.ObjectNode) c).put("chat_template", template);
        new ObjectMapper().writeValue(tmp.resolve("out/tokenizer_config.json").toFile(), c);
        try (LlamaTokenizer fromDir = LlamaTokenizer.load(tmp.resolve("out"));
                LlamaTokenizer original = LlamaTokenizer.load(tok512())) {
            assertEquals(template, fromDir.chatTemplate().orElseThrow());
            assertEquals(512, fromDir.modelMaxLength().orElseThrow());
            for (String s : TEXTS) {
                assertArrayEquals(original.encode(s, true), fromDir.encode(s, true), s);
            }
            fromDir.save(tmp.resolve("again"));
            assertEquals(Files.readString(tmp.resolve("out/tokenizer.json")),
                    Files.readString(tmp.resolve("again/tokenizer.json")));
            try (LlamaTokenizer again = LlamaTokenizer.load(tmp.resolve("again/tokenizer.json"))) {
                assertEquals(template, again.chatTemplate().orElseThrow());
            }
        }
    }

    @Test
    void directoryWithOnlyTokenizerModelAndAChatTemplateJinjaFile() throws IOException {
        Files.createDirectories(tmp.resolve("m"));
        Files.copy(tok512(), tmp.resolve("m/tokenizer.model"));
        try (LlamaTokenizer t = LlamaTokenizer.load(tmp.resolve("m"))) {
            assertEquals(512, t.vocabSize());
            assertArrayEquals(new int[] {1, 403, 407}, Arrays.copyOf(t.encode("Once upon", true), 3));
        }
        try (LlamaTokenizer t = LlamaTokenizer.load(tok512())) {
            t.save(tmp.resolve("j"));
        }
        Files.writeString(tmp.resolve("j/chat_template.jinja"), "{{ bos_token }}");
        try (LlamaTokenizer t = LlamaTokenizer.load(tmp.resolve("j"))) {
            assertEquals("{{ bos_token }}", t.chatTemplate().orElseThrow());
        }
    }

    /** The SentencePiece view rebuilt from a tokenizer.json (scores from merge ranks) yields the same tokenizer. */
    @Test
    void vocabularyRecoveredFromTokenizerJsonEncodesTheSame() {
        try (LlamaTokenizer original = LlamaTokenizer.load(tok512());
                LlamaTokenizer json = LlamaTokenizer.fromJson(original.tokenizerJson(), "test")) {
            SpmVocabulary exact = original.vocabulary();
            SpmVocabulary rebuilt = json.vocabulary();
            assertEquals(exact.pieces(), rebuilt.pieces());
            assertArrayEquals(exact.types(), rebuilt.types());
            assertEquals(exact.unkId(), rebuilt.unkId());
            assertEquals(exact.bosId(), rebuilt.bosId());
            assertEquals(exact.eosId(), rebuilt.eosId());
            assertEquals(LlamaTokenizerJson.merges(exact).size(), LlamaTokenizerJson.merges(rebuilt).size());
            for (int i = 0; i < LlamaTokenizerJson.merges(exact).size(); i++) {
                assertArrayEquals(LlamaTokenizerJson.merges(exact).get(i), LlamaTokenizerJson.merges(rebuilt).get(i));
            }
            try (LlamaTokenizer again = LlamaTokenizer.fromVocabulary(rebuilt, "rebuilt", null)) {
                for (String s : TEXTS) {
                    assertArrayEquals(original.encode(s, false), again.encode(s, false), s);
                }
            }
        }
    }

    // ---------------------------------------------------------------- bad input

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = tmp.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private void assertBad(Path p, String... fragments) {
        BadInputException e = assertThrows(BadInputException.class, () -> LlamaTokenizer.load(p).close());
        assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "'" + f + "' in: " + e.getMessage());
        }
    }

    @Test
    void corruptSentencePieceModels() throws IOException {
        byte[] good = Files.readAllBytes(tok512());
        assertBad(write("cut.model", Arrays.copyOf(good, 1000)), "runs past the end");
        assertBad(write("empty.model", new byte[0]), "no pieces");
        assertBad(write("junk.model", "this is not protobuf at all".getBytes(StandardCharsets.US_ASCII)),
                "not a valid SentencePiece model");
        // A piece claiming 2^62 bytes must be refused, not allocated.
        assertBad(write("huge.model", new byte[] {0x0A, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80,
                (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x40}), "runs past the end");
    }

    @Test
    void corruptLlama2cTokenizers() throws IOException {
        byte[] good = Files.readAllBytes(TestData.require("models/stories260K/tok512.bin"));
        assertBad(write("cut.bin", Arrays.copyOf(good, good.length - 3)), "truncated in token 511");
        assertBad(write("tiny.bin", new byte[] {1, 0}), "header");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(7).putFloat(0f).putInt(Integer.MAX_VALUE).putInt(0);
        assertBad(write("huge.bin", b.array()), "token 0 has length 2147483647");
        ByteBuffer m = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(-5);
        assertBad(write("neg.bin", m.array()), "max_token_length -5");
    }

    @Test
    void corruptTokenizerJsonAndUnknownFiles() throws IOException {
        try (LlamaTokenizer t = LlamaTokenizer.load(tok512())) {
            String json = t.tokenizerJson();
            assertBad(write("cut.json", json.substring(0, json.length() / 2).getBytes(StandardCharsets.UTF_8)),
                    "not a valid tokenizer.json");
        }
        assertBad(write("novocab.json", "{\"model\":{}}".getBytes(StandardCharsets.UTF_8)), "no model.vocab");
        assertBad(write("bigid.json", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":2000000000},\"merges\":[]}}"
                .getBytes(StandardCharsets.UTF_8)), "invalid id");
        assertBad(write("x.gguf", new byte[] {1, 2, 3, 4, 5}), "not a GGUF file");
        assertBad(write("x.txt", new byte[] {1, 2, 3}), "unknown tokenizer format");
        assertBad(tmp.resolve("missing.model"), "not found");
        Files.createDirectories(tmp.resolve("emptydir"));
        assertBad(tmp.resolve("emptydir"), "no tokenizer.json or tokenizer.model");
    }
}
