package org.llamawb.datasets.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.llamawb.datasets.example.Conversation;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.Origin;
import org.llamawb.datasets.example.PreferencePair;
import org.llamawb.datasets.example.Prompt;
import org.llamawb.datasets.template.BuiltinTemplate;
import org.llamawb.datasets.template.SpecialTokens;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/** Truncation, the length filter, drop counting and preference pairs on the real LLaMA tokenizer. */
class ExampleEncoderTest {
    private static final Origin AT = new Origin("data.jsonl", 7);

    private static Conversation conv(String... turns) {
        Message[] m = new Message[turns.length];
        for (int i = 0; i < turns.length; i++) {
            m[i] = i % 2 == 0 ? Message.user(turns[i]) : Message.assistant(turns[i]);
        }
        return new Conversation("c", AT, List.of(m));
    }

    private static ExampleEncoder encoder(int maxLength, Truncation t, int minLength) {
        LlamaTokenizer tok = Tokenizers.llama();
        return new ExampleEncoder(tok, BuiltinTemplate.VICUNA_V1_1.with(SpecialTokens.of(tok)),
                new EncodeOptions(maxLength, t, minLength));
    }

    @Test
    void rightTruncationKeepsTheFirstMaxLengthTokensAndCountsIt() {
        Conversation c = conv("Hi", "Hello there.", "Bye", "Goodbye.");
        try (ExampleEncoder full = encoder(4096, Truncation.RIGHT, 0); ExampleEncoder cut = encoder(48, Truncation.RIGHT, 0)) {
            TokenizedExample all = full.encode(c).orElseThrow();
            TokenizedExample part = cut.encode(c).orElseThrow();
            assertTrue(all.length() > 48, "the conversation is " + all.length() + " tokens");
            assertEquals(48, part.length());
            assertArrayEquals(Arrays.copyOf(all.inputIds(), 48), part.inputIds());
            assertArrayEquals(Arrays.copyOf(all.labels(), 48), part.labels());
            assertTrue(part.truncated());
            assertEquals(1, cut.stats().truncated());
            assertEquals(1, cut.stats().kept());
        }
    }

    @Test
    void dropTruncationAndMinLengthFilterAndCountWithFileAndLine() {
        try (ExampleEncoder enc = encoder(48, Truncation.DROP, 40)) {
            assertTrue(enc.encode(conv("Hi", "Hello there.", "Bye", "Goodbye.")).isEmpty());
            assertTrue(enc.encode(conv("Hi", "Yo")).isPresent(), "44 tokens: kept");
            assertTrue(new ExampleEncoder(Tokenizers.llama(), BuiltinTemplate.NONE.with(SpecialTokens.LLAMA),
                    new EncodeOptions(48, Truncation.DROP, 40)).encode(conv("Hi", "Yo")).isEmpty());
            EncodeStats s = enc.stats();
            assertEquals(2, s.offeredCount());
            assertEquals(1, s.kept());
            assertEquals(1L, s.dropped().get(DropReason.LONGER_THAN_MAX_LENGTH));
            assertEquals("data.jsonl:7: longer than max_length (58 tokens > 48)", s.firstDrops().get(0).toString());
        }
    }

    @Test
    void anExampleTruncatedBeforeItsFirstAnswerIsDroppedNotTrainedOnNothing() {
        try (ExampleEncoder enc = encoder(20, Truncation.RIGHT, 0)) {
            assertTrue(enc.encode(conv("Hi", "Hello.")).isEmpty());
            assertEquals(1L, enc.stats().dropped().get(DropReason.NOTHING_TRAINED));
            assertEquals("data.jsonl:7: no trained token within max_length (truncated to 20)",
                    enc.stats().firstDrops().get(0).toString());
        }
    }

    @Test
    void promptsAndPairsAreNotSupervisedExamples() {
        try (ExampleEncoder enc = encoder(512, Truncation.RIGHT, 0)) {
            assertTrue(enc.encode((org.llamawb.datasets.example.Example) new Prompt("p", AT, List.of(Message.user("x")))).isEmpty());
            assertEquals(1L, enc.stats().dropped().get(DropReason.NOT_TRAINABLE));
        }
    }

    @Test
    void preferencePairsShareThePromptAndTrainOnlyTheAnswers() {
        PreferencePair p = new PreferencePair("p", AT, List.of(Message.system("Be kind."), Message.user("Hi"),
                Message.assistant("Hello."), Message.user("Insult me.")), Message.assistant("I'd rather not."),
                Message.assistant("You fool!"));
        LlamaTokenizer tok = Tokenizers.llama();
        int full;
        try (ExampleEncoder enc = encoder(512, Truncation.RIGHT, 0)) {
            TokenizedPair t = enc.encode(p).orElseThrow();
            full = t.length();
            // The prompt is the SFT rendering of the chosen conversation up to its final answer.
            TokenizedExample sft = enc.encode(new Conversation("c", AT, p.chosenConversation())).orElseThrow();
            assertArrayEquals(sft.inputIds(), t.chosenInputIds());
            assertArrayEquals(Arrays.copyOf(sft.inputIds(), t.prompt().length), t.prompt());
            // data inspect's counts: chosen and rejected answers apart, both sequences as tokens (never over 100%)
            EncodeStats pairOnly = new EncodeStats();
            try (ExampleEncoder alone = encoder(512, Truncation.RIGHT, 0)) {
                alone.encode(p);
                pairOnly.add(alone.stats());
            }
            assertEquals(t.chosen().length, pairOnly.chosenTrainedTokens());
            assertEquals(t.rejected().length, pairOnly.rejectedTrainedTokens());
            assertEquals(t.chosen().length + t.rejected().length, pairOnly.trainedTokens());
            assertEquals(t.chosenInputIds().length + t.rejectedInputIds().length, pairOnly.tokens());
            assertEquals("▁I ' d ▁rather ▁not . </s>", pieces(tok, t.chosen()));
            assertEquals("▁You ▁fool ! </s>", pieces(tok, t.rejected()));
            assertEquals("ASSISTANT:", tok.decode(Arrays.copyOfRange(t.prompt(), t.prompt().length - 5, t.prompt().length)).strip());
            int[] labels = t.rejectedLabels();
            for (int i = 0; i < t.prompt().length; i++) {
                assertEquals(TokenizedExample.IGNORE, labels[i], "the earlier answer 'Hello.' is prompt, not trained");
            }
            assertArrayEquals(t.rejected(), Arrays.copyOfRange(labels, t.prompt().length, labels.length));
        }
        try (ExampleEncoder enc = encoder(full - 2, Truncation.RIGHT, 0)) {
            TokenizedPair t = enc.encode(p).orElseThrow();
            assertEquals(full - 2, t.length(), "the longer answer loses its last two tokens");
            assertEquals("▁I ' d ▁rather ▁not", pieces(tok, t.chosen()));
            assertEquals("▁You ▁fool ! </s>", pieces(tok, t.rejected()), "the shorter answer fits");
            assertTrue(t.truncated());
        }
        try (ExampleEncoder enc = encoder(full - 7, Truncation.RIGHT, 0)) {
            assertTrue(enc.encode(p).isEmpty(), "no room left for an answer token");
            assertEquals(1L, enc.stats().dropped().get(DropReason.NOTHING_TRAINED));
        }
    }

    @Test
    void lengthPercentilesByNearestRank() {
        try (ExampleEncoder enc = encoder(4096, Truncation.RIGHT, 0)) {
            enc.encode(conv("a", "b"));
            enc.encode(conv("a", "b", "c", "d"));
            enc.encode(conv("a", "b", "c", "d", "e", "f"));
            EncodeStats s = enc.stats();
            int shortest = s.lengthPercentile(0);
            assertEquals(shortest, s.lengthPercentile(33));
            assertTrue(s.lengthPercentile(50) > shortest);
            assertEquals(s.lengthPercentile(100), s.lengthPercentile(99));
            assertEquals(s.tokens(), s.lengthPercentile(0) + s.lengthPercentile(50) + s.lengthPercentile(100));
            assertEquals(2 + 4 + 6, s.trainedTokens(), "'▁b' + '</s>' per answer");
        }
    }

    static String pieces(LlamaTokenizer tok, int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(sb.length() > 0 ? " " : "").append(tok.piece(id));
        }
        return sb.toString();
    }
}
