package org.llamawb.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.llamawb.model.TestData;

/** stories260K's 512-piece vocabulary: SentencePiece and llama2.c containers convert to the same tokenizer. */
class Stories260KTokenizerTest {
    private static final List<String> TEXTS = List.of(
            "Once upon a time, there was a little girl named Lily.",
            "",
            " ",
            "   three leading spaces and two  inside",
            "trailing spaces   ",
            "line one\nline two\n\n\tindented",
            "Ünïcödé: café, naïve, 日本語, Привет",
            "emoji 🦙🐱👨‍👩‍👧 and ✅",
            "numbers 1234567890 and symbols !@#$%^&*()");

    @Test
    void modelAndBinGiveIdenticalIdsAndRoundTrip() {
        try (LlamaTokenizer model = LlamaTokenizer.load(TestData.require("models/stories260K/tok512.model"));
                LlamaTokenizer bin = LlamaTokenizer.load(TestData.require("models/stories260K/tok512.bin"))) {
            assertEquals(512, model.vocabSize());
            assertEquals(512, bin.vocabSize());
            assertEquals(model.tokenizerJson(), bin.tokenizerJson(), "the two conversions are the same tokenizer.json");
            for (String s : TEXTS) {
                int[] ids = model.encode(s, true);
                assertArrayEquals(ids, bin.encode(s, true), s);
                assertEquals(1, ids[0]);
                int[] noBos = model.encode(s, false);
                assertEquals(s, model.decode(noBos), "round trip of " + s);
                assertEquals(s, bin.decode(noBos), "round trip of " + s);
            }
            // Special tokens written in the text are their ids; the text between them is encoded on its own
            // (so it gets its own leading ▁, as Llama 2's legacy tokenizer.json does).
            int[] special = model.encode("<s> hi</s>", false);
            int[] hi = model.encode(" hi", false);
            assertEquals(1, special[0]);
            assertEquals(2, special[special.length - 1]);
            assertArrayEquals(hi, java.util.Arrays.copyOfRange(special, 1, special.length - 1));
            assertArrayEquals(special, bin.encode("<s> hi</s>", false));
            // Characters outside the 512 pieces fall back to bytes: 日 is E6 97 A5 → <0xE6><0x97><0xA5>.
            int[] ids = model.encode("日", false);
            assertTrue(ids.length >= 3);
            assertArrayEquals(new int[] {3 + 0xE6, 3 + 0x97, 3 + 0xA5},
                    java.util.Arrays.copyOfRange(ids, ids.length - 3, ids.length));
        }
    }
}
