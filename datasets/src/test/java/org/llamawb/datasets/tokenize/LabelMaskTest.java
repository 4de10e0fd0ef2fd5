package org.llamawb.datasets.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.datasets.example.Conversation;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.Origin;
import org.llamawb.datasets.template.BuiltinTemplate;
import org.llamawb.datasets.template.ChatTemplate;
import org.llamawb.datasets.template.SpecialTokens;
import org.llamawb.datasets.template.TemplateFixtures;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * Exactly which token positions are trained, for every built-in template, on the real LLaMA tokenizer:
 * ids against the reference encoding, Vicuna labels against FastChat's own masking code, and each
 * template's mask written out token by token ({@code [piece]} = trained).
 */
class LabelMaskTest {
    private static final List<Message> TWO_TURNS = List.of(Message.system("Be brief."), Message.user("Hi"),
            Message.assistant("Hello."), Message.user("Bye"), Message.assistant("Bye!"));

    static ExampleEncoder encoder(LlamaTokenizer tok, BuiltinTemplate t, int maxLength) {
        SpecialTokens st = t == BuiltinTemplate.LLAMA_3 && tok.id("<|begin_of_text|>").isEmpty()
                ? SpecialTokens.LLAMA_3 : SpecialTokens.of(tok);
        return new ExampleEncoder(tok, t.with(st), EncodeOptions.of(maxLength));
    }

    /** Pieces with trained ones in brackets. */
    static String marked(LlamaTokenizer tok, int[] ids, int[] labels) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ids.length; i++) {
            String p = tok.piece(ids[i]);
            sb.append(i > 0 ? " " : "").append(labels[i] == TokenizedExample.IGNORE ? p : "[" + p + "]");
        }
        return sb.toString();
    }

    @Test
    void idsEqualTheReferenceEncodingWithExactlyOneBos() {
        JsonNode fx = TemplateFixtures.fixtures();
        LlamaTokenizer tok = Tokenizers.llama();
        int checked = 0;
        for (JsonNode e : fx.path("tokenized")) {
            BuiltinTemplate t = TemplateFixtures.builtin(e.path("template").asText());
            try (ExampleEncoder enc = encoder(tok, t, 4096)) {
                EncodedChat c = enc.render(TemplateFixtures.conversation(fx, e.path("conversation").asText()));
                int[] expected = new int[e.path("input_ids").size()];
                for (int i = 0; i < expected.length; i++) {
                    expected[i] = e.path("input_ids").get(i).asInt();
                }
                assertArrayEquals(expected, c.tokens().ids(), t.wireName() + " / " + e.path("conversation").asText());
                assertEquals(tok.bosId(), c.tokens().ids()[0]);
                assertNotEquals(tok.bosId(), c.tokens().ids()[1], "no double BOS");
                checked++;
            }
        }
        assertEquals(30, checked, "6 templates x 5 supervised conversations");
    }

    @Test
    void vicunaLabelsEqualFastChatsOwnTrainingPreprocess() {
        JsonNode fx = TemplateFixtures.fixtures();
        try (ExampleEncoder enc = encoder(Tokenizers.llama(), BuiltinTemplate.VICUNA_V1_1, 4096)) {
            for (JsonNode e : fx.path("fastchat_train")) {
                String name = e.path("conversation").asText();
                List<Message> messages = TemplateFixtures.conversation(fx, name);
                TokenizedExample ex = enc.encode(new Conversation(name, new Origin("fx", 1), messages)).orElseThrow();
                int[] ids = new int[e.path("input_ids").size()];
                int[] labels = new int[ids.length];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = e.path("input_ids").get(i).asInt();
                    labels[i] = e.path("labels").get(i).asInt();
                }
                assertArrayEquals(ids, ex.inputIds(), name);
                assertArrayEquals(labels, ex.labels(), name);
            }
        }
    }

    @Test
    void everyTemplatesMaskTokenByTokenOnTheLlamaTokenizer() {
        Map<BuiltinTemplate, String> expected = Map.of(
                BuiltinTemplate.VICUNA_V1_1, "<s> ▁Be ▁brief . ▁US ER : ▁Hi ▁A SS IST ANT : [▁Hello] [.] [</s>]"
                        + " ▁US ER : ▁By e ▁A SS IST ANT : [▁By] [e] [!] [</s>]",
                BuiltinTemplate.KOALA, "<s> ▁Be ▁brief . ▁US ER : ▁Hi ▁G PT : [▁Hello] [.] [</s>]"
                        + " ▁US ER : ▁By e ▁G PT : [▁By] [e] [!] [</s>]",
                BuiltinTemplate.FASTCHAT_ALPACA, "<s> ▁Be ▁brief . <0x0A> <0x0A> ## # ▁Inst ruction : ▁Hi <0x0A> <0x0A> ## #"
                        + " ▁Response : [▁Hello] [.] [</s>] ▁### ▁Inst ruction : ▁By e <0x0A> <0x0A> ## # ▁Response :"
                        + " [▁By] [e] [!] [</s>]",
                BuiltinTemplate.LLAMA_2, "<s> ▁[ INST ] ▁<< SY S >> <0x0A> Be ▁brief . <0x0A> < </ SY S >> <0x0A> <0x0A>"
                        + " Hi ▁[ / INST ] [▁Hello] [.] [▁] [</s>] <s> ▁[ INST ] ▁By e ▁[ / INST ] [▁By] [e] [!] [▁] [</s>]",
                BuiltinTemplate.NONE, "<s> ▁Be ▁brief . Hi [Hello] [.] [</s>] ▁By e [By] [e] [!] [</s>]",
                // Without <|im_end|> in the vocabulary the marker is ordinary text: its pieces are trained,
                // and a piece straddling answer and marker ('.<') is trained too.
                BuiltinTemplate.CHATML, "<s> ▁< | im _ start | > system <0x0A> Be ▁brief .< | im _ end | > <0x0A>"
                        + " < | im _ start | > user <0x0A> Hi < | im _ end | > <0x0A> < | im _ start | > ass istant <0x0A>"
                        + " [Hello] [.<] [|] [im] [_] [end] [|] [>] <0x0A> < | im _ start | > user <0x0A> By e"
                        + " < | im _ end | > <0x0A> < | im _ start | > ass istant <0x0A> [By] [e] [!] [<] [|] [im] [_]"
                        + " [end] [|] [>] <0x0A>");
        for (var entry : expected.entrySet()) {
            try (ExampleEncoder enc = encoder(Tokenizers.llama(), entry.getKey(), 4096)) {
                EncodedChat c = enc.render(TWO_TURNS);
                assertEquals(entry.getValue(), marked(Tokenizers.llama(), c.tokens().ids(), c.labels()),
                        entry.getKey().wireName());
            }
        }
    }

    @Test
    void chatmlAndLlama3WithTheirSpecialTokensTrainAnswerAndEndMarkerOnly(@TempDir Path dir) throws Exception {
        Path chatmlDir = java.nio.file.Files.createDirectory(dir.resolve("chatml"));
        LlamaTokenizer chatml = Tokenizers.llamaWithSpecials(chatmlDir, "<s>", "<|im_end|>", "<|im_start|>", "<|im_end|>");
        try (ExampleEncoder enc = encoder(chatml, BuiltinTemplate.CHATML, 4096)) {
            EncodedChat c = enc.render(TWO_TURNS);
            assertEquals("<s> <|im_start|> ▁system <0x0A> Be ▁brief . <|im_end|> ▁ <0x0A> <|im_start|> ▁user <0x0A> Hi"
                    + " <|im_end|> ▁ <0x0A> <|im_start|> ▁assistant <0x0A> [Hello] [.] [<|im_end|>] ▁ <0x0A>"
                    + " <|im_start|> ▁user <0x0A> By e <|im_end|> ▁ <0x0A> <|im_start|> ▁assistant <0x0A>"
                    + " [By] [e] [!] [<|im_end|>] ▁ <0x0A>", marked(chatml, c.tokens().ids(), c.labels()));
            assertTrue(c.bosAdded());
        }
        Path l3Dir = java.nio.file.Files.createDirectory(dir.resolve("llama3"));
        LlamaTokenizer l3 = Tokenizers.llamaWithSpecials(l3Dir, "<|begin_of_text|>", "<|eot_id|>",
                "<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>");
        try (ExampleEncoder enc = encoder(l3, BuiltinTemplate.LLAMA_3, 4096)) {
            EncodedChat c = enc.render(TWO_TURNS);
            assertEquals("<|begin_of_text|> <|start_header_id|> ▁system <|end_header_id|> ▁ <0x0A> <0x0A> Be ▁brief ."
                    + " <|eot_id|> <|start_header_id|> ▁user <|end_header_id|> ▁ <0x0A> <0x0A> Hi <|eot_id|>"
                    + " <|start_header_id|> ▁assistant <|end_header_id|> ▁ <0x0A> <0x0A> [Hello] [.] [<|eot_id|>]"
                    + " <|start_header_id|> ▁user <|end_header_id|> ▁ <0x0A> <0x0A> By e <|eot_id|>"
                    + " <|start_header_id|> ▁assistant <|end_header_id|> ▁ <0x0A> <0x0A> [By] [e] [!] [<|eot_id|>]",
                    marked(l3, c.tokens().ids(), c.labels()));
            assertFalse(c.bosAdded(), "the template wrote <|begin_of_text|>: no second BOS");
            assertEquals(1, java.util.Arrays.stream(c.tokens().ids()).filter(i -> i == l3.bosId()).count());
        }
    }

    @Test
    void theEosEndingEachAnswerIsTrained() {
        for (BuiltinTemplate t : new BuiltinTemplate[] {BuiltinTemplate.VICUNA_V1_1, BuiltinTemplate.KOALA,
                BuiltinTemplate.ALPACA, BuiltinTemplate.FASTCHAT_ALPACA, BuiltinTemplate.LLAMA_2, BuiltinTemplate.NONE}) {
            try (ExampleEncoder enc = encoder(Tokenizers.llama(), t, 4096)) {
                EncodedChat c = enc.render(TWO_TURNS);
                int eos = Tokenizers.llama().eosId();
                int runs = 0;
                for (int i = 0; i < c.length(); i++) {
                    boolean trained = c.labels()[i] != TokenizedExample.IGNORE;
                    boolean nextTrained = i + 1 < c.length() && c.labels()[i + 1] != TokenizedExample.IGNORE;
                    if (trained && !nextTrained) {
                        assertEquals(eos, c.tokens().ids()[i], t.wireName() + ": a trained run ends with EOS");
                        runs++;
                    }
                    if (c.tokens().ids()[i] == eos) {
                        assertTrue(trained, t.wireName() + ": every EOS is trained");
                    }
                }
                assertEquals(2, runs, t.wireName());
            }
        }
    }

    @Test
    void offsetEncoderIdsEqualTheTokenizersOwnOnBothVocabularies() {
        String text = "A chat. USER: Übersetze 你好 🦙\n\tnow ASSISTANT: Once upon a time</s>USER: <s> x";
        for (LlamaTokenizer tok : new LlamaTokenizer[] {Tokenizers.llama(), Tokenizers.stories()}) {
            try (OffsetEncoder enc = new OffsetEncoder(tok)) {
                TokenSpans s = enc.encode(text);
                assertArrayEquals(tok.encode(text, false), s.ids());
                int[] none = new int[0];
                assertArrayEquals(none, enc.encode("").ids());
                // Spans are UTF-16 indices that tile the text in order.
                for (int i = 1; i < s.size(); i++) {
                    assertTrue(s.starts()[i] >= s.starts()[i - 1] && s.ends()[i] <= text.length());
                }
                assertEquals(text.length(), s.ends()[s.size() - 1]);
            }
        }
    }

    @Test
    void storiesTokenizerTrainsTheAnswersOfARealFastChatConversation() {
        ChatTemplate vicuna = BuiltinTemplate.VICUNA_V1_1.with(SpecialTokens.of(Tokenizers.stories()));
        try (ExampleEncoder enc = new ExampleEncoder(Tokenizers.stories(), vicuna, EncodeOptions.of(512))) {
            List<Message> m = List.of(Message.user("Who are you?"), Message.assistant("I am Vicuna."));
            TokenizedExample e = enc.encode(new Conversation("x", new Origin("f", 1), m)).orElseThrow();
            String trained = Tokenizers.stories().decode(java.util.Arrays.stream(e.labels()).filter(l -> l != -100).toArray());
            assertEquals("I am Vicuna.</s>", trained.strip());
            assertEquals(Tokenizers.stories().eosId(), e.labels()[e.length() - 1]);
        }
    }
}
