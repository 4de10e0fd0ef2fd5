package org.llamawb.datasets.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.llamawb.datasets.example.Conversation;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.Origin;
import org.llamawb.datasets.example.PreferencePair;
import org.llamawb.datasets.example.Prompt;
import org.llamawb.datasets.example.UnpairedPreference;
import org.llamawb.datasets.template.BuiltinTemplate;
import org.llamawb.datasets.template.SpecialTokens;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * Prompts for generation ({@link ExampleEncoder#encodePrompt}): every kind of example gives the context its answer
 * follows, rendered up to where the assistant starts, and is dropped (and counted) without a user turn to answer or
 * when longer than max_length.
 */
class PromptEncodingTest {
    private static final Origin AT = new Origin("prompts.jsonl", 3);

    private static ExampleEncoder encoder(int maxLength) {
        LlamaTokenizer tok = Tokenizers.llama();
        return new ExampleEncoder(tok, BuiltinTemplate.VICUNA_V1_1.with(SpecialTokens.of(tok)),
                new EncodeOptions(maxLength, Truncation.DROP, 0));
    }

    @Test
    void everyKindGivesTheContextBeforeItsAnswer() {
        List<Message> context = List.of(Message.user("What is 2 + 3?"), Message.assistant("5."), Message.user("And 2 + 4?"));
        try (ExampleEncoder enc = encoder(4096)) {
            int[] expected = enc.promptIds(context);
            TokenizedPrompt p = enc.encodePrompt(new Prompt("p1", AT, context)).orElseThrow();
            assertArrayEquals(expected, p.ids());
            assertEquals("p1", p.id());
            List<Message> answered = new java.util.ArrayList<>(context);
            answered.add(Message.assistant("6."));
            assertArrayEquals(expected, enc.encodePrompt(new Conversation("c", AT, answered)).orElseThrow().ids());
            assertArrayEquals(expected, enc.encodePrompt(new PreferencePair("pp", AT, context, Message.assistant("6."),
                    Message.assistant("7."))).orElseThrow().ids());
            assertArrayEquals(expected, enc.encodePrompt(new UnpairedPreference(
                    new Conversation("u", AT, answered), true)).orElseThrow().ids());
            String text = Tokenizers.llama().decode(expected);
            assertTrue(text.endsWith("And 2 + 4? ASSISTANT:"), text);
            assertEquals(4, enc.stats().kept());
        }
    }

    @Test
    void withoutAUserTurnOrLongerThanMaxLengthIsDroppedAndCounted() {
        try (ExampleEncoder enc = encoder(12)) {
            assertTrue(enc.encodePrompt(new Prompt("long", AT, List.of(Message.user("a question far longer than twelve "
                    + "tokens once the template's system prompt is in front of it")))).isEmpty());
            assertEquals(1L, enc.stats().dropped().get(DropReason.LONGER_THAN_MAX_LENGTH));
            assertTrue(enc.stats().firstDrops().get(0).toString().startsWith("prompts.jsonl:3"),
                    enc.stats().firstDrops().toString());
        }
        try (ExampleEncoder enc = encoder(4096)) {
            assertTrue(enc.encodePrompt(new Conversation("a", AT, List.of(Message.assistant("Hello.")))).isEmpty());
            assertEquals(1L, enc.stats().dropped().get(DropReason.NOT_TRAINABLE));
        }
    }
}
