package org.llamawb.datasets.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.Role;

/**
 * Every built-in template and the Jinja engine against the reference renderings in
 * {@code fixtures/chat_templates.json} (FastChat's conversation templates and transformers'
 * {@code apply_chat_template}; see {@code scripts/reference/chat_template_fixtures.py}).
 */
class TemplateFixturesTest {

    private static SpecialTokens tokensFor(BuiltinTemplate t) {
        return t == BuiltinTemplate.LLAMA_3 ? SpecialTokens.LLAMA_3 : SpecialTokens.LLAMA;
    }

    @Test
    void fastChatTemplatesRenderExactlyAsFastChat() {
        JsonNode fx = TemplateFixtures.fixtures();
        int checked = 0;
        for (JsonNode e : fx.path("fastchat")) {
            BuiltinTemplate t = TemplateFixtures.builtin(e.path("template").asText());
            List<Message> messages = TemplateFixtures.conversation(fx, e.path("conversation").asText());
            String text = t.with(SpecialTokens.LLAMA).render(messages, e.path("add_generation_prompt").asBoolean()).text();
            assertEquals(e.path("text").asText(), text, t.wireName() + " / " + e.path("conversation").asText());
            checked++;
        }
        assertEquals(21, checked, "3 FastChat templates x 7 conversations");
    }

    @Test
    void huggingFaceBuiltinsRenderExactlyAsTheirModelsChatTemplate() {
        JsonNode fx = TemplateFixtures.fixtures();
        int checked = 0;
        for (var it = fx.path("builtin_references").fields(); it.hasNext(); ) {
            var ref = it.next();
            if (!ref.getValue().asText().startsWith("jinja:")) {
                continue;
            }
            BuiltinTemplate t = TemplateFixtures.builtin(ref.getKey());
            String jinjaName = ref.getValue().asText().substring("jinja:".length());
            for (JsonNode e : fx.path("jinja")) {
                if (!e.path("template").asText().equals(jinjaName)) {
                    continue;
                }
                List<Message> messages = TemplateFixtures.conversation(fx, e.path("conversation").asText());
                boolean gen = e.path("add_generation_prompt").asBoolean();
                RenderedChat builtin = t.with(tokensFor(t)).render(messages, gen);
                assertEquals(e.path("text").asText(), builtin.text(), t.wireName() + " / " + e.path("conversation").asText());
                checked++;
            }
        }
        assertEquals(21, checked, "llama-2, llama-3, chatml x 7 conversations");
    }

    @Test
    void jinjaEngineRendersRealChatTemplatesExactlyAsTransformers() {
        JsonNode fx = TemplateFixtures.fixtures();
        int rendered = 0;
        int raised = 0;
        for (JsonNode e : fx.path("jinja")) {
            String name = e.path("template").asText();
            String conv = e.path("conversation").asText();
            JinjaChatTemplate t = TemplateFixtures.jinja(fx, name);
            List<Message> messages = TemplateFixtures.conversation(fx, conv);
            boolean gen = e.path("add_generation_prompt").asBoolean();
            if (e.has("error")) {
                TemplateException ex = assertThrows(TemplateException.class, () -> t.renderText(messages, gen), name + " / " + conv);
                assertEquals("chat template " + name + ": raise_exception: " + e.path("error").asText(), ex.getMessage());
                raised++;
            } else {
                assertEquals(e.path("text").asText(), t.renderText(messages, gen), name + " / " + conv);
                rendered++;
            }
        }
        assertEquals(8 * 7, rendered + raised);
        assertEquals(4, raised, "mixtral and gemma reject the two conversations with a system message");
    }

    @Test
    void generationBlocksGiveTheSameCharacterSpansAsTransformers() {
        JsonNode fx = TemplateFixtures.fixtures();
        int checked = 0;
        for (JsonNode e : fx.path("jinja")) {
            if (!e.has("generation")) {
                continue;
            }
            JinjaChatTemplate t = TemplateFixtures.jinja(fx, e.path("template").asText());
            RenderedChat r = t.render(TemplateFixtures.conversation(fx, e.path("conversation").asText()),
                    e.path("add_generation_prompt").asBoolean());
            // transformers counts code points; Java strings count UTF-16 units (an emoji is two).
            String text = e.path("text").asText();
            List<CharSpan> expected = new ArrayList<>();
            for (JsonNode span : e.path("generation")) {
                expected.add(new CharSpan(text.offsetByCodePoints(0, span.get(0).asInt()),
                        text.offsetByCodePoints(0, span.get(1).asInt())));
            }
            assertEquals(e.path("text").asText(), r.text());
            assertEquals(expected, r.trained(), e.path("conversation").asText());
            checked++;
        }
        assertEquals(7, checked);
    }

    /**
     * The spans the built-ins mark by construction equal the spans found by diffing the reference Jinja
     * template's renderings (what the model must write after the generation prompt).
     */
    @Test
    void builtinTrainedSpansEqualThePrefixDiffOfTheReferenceTemplate() {
        JsonNode fx = TemplateFixtures.fixtures();
        for (String name : new String[] {"llama-2", "llama-3", "chatml"}) {
            BuiltinTemplate t = BuiltinTemplate.byName(name).orElseThrow();
            JinjaChatTemplate ref = TemplateFixtures.jinja(fx, name);
            for (String conv : new String[] {"single", "system_two_turns", "whitespace", "unicode_and_braces", "three_turns"}) {
                List<Message> messages = TemplateFixtures.conversation(fx, conv);
                RenderedChat a = t.with(tokensFor(t)).render(messages, false);
                RenderedChat b = ref.render(messages, false);
                assertEquals(b.text(), a.text(), name + " / " + conv);
                assertEquals(b.trained(), a.trained(), name + " / " + conv);
            }
        }
    }

    @Test
    void trainedTextIsEachAnswerWithItsEndMarker() {
        List<Message> two = List.of(Message.system("Sys"), Message.user("Hi"), Message.assistant("Hello."),
                Message.user("More?"), Message.assistant(" No. "));
        Map<BuiltinTemplate, String> expected = Map.of(
                BuiltinTemplate.VICUNA_V1_1, " Hello.</s>  No. </s>",
                BuiltinTemplate.KOALA, " Hello.</s>  No. </s>",
                BuiltinTemplate.ALPACA, "Hello.</s> No. </s>",
                BuiltinTemplate.FASTCHAT_ALPACA, " Hello.</s>  No. </s>",
                BuiltinTemplate.LLAMA_2, " Hello. </s> No. </s>",
                BuiltinTemplate.CHATML, "Hello.<|im_end|> No. <|im_end|>",
                BuiltinTemplate.LLAMA_3, "Hello.<|eot_id|>No.<|eot_id|>",
                BuiltinTemplate.NONE, "Hello.</s> No. </s>");
        for (BuiltinTemplate t : BuiltinTemplate.values()) {
            RenderedChat r = t.with(tokensFor(t)).render(two, false);
            assertEquals(expected.get(t), r.trainedText(), t.wireName());
            assertEquals(2, r.trained().size(), t.wireName());
        }
        assertEquals("SysHiHello.</s>More? No. </s>", BuiltinTemplate.NONE.with(SpecialTokens.LLAMA).render(two, false).text());
    }

    @Test
    void generationPromptLeavesNothingTrained() {
        List<Message> prompt = List.of(Message.user("Hi"));
        for (BuiltinTemplate t : BuiltinTemplate.values()) {
            assertTrue(t.with(tokensFor(t)).render(prompt, true).trained().isEmpty(), t.wireName());
        }
    }

    @Test
    void templateNamesResolveAndUnknownOnesListTheChoices() {
        assertEquals("koala", ChatTemplates.resolve("koala_v1", SpecialTokens.LLAMA, null).name());
        assertEquals("llama-2", ChatTemplates.resolve("llama-2", SpecialTokens.LLAMA, null).name());
        var e = assertThrows(org.llamawb.model.BadInputException.class,
                () -> ChatTemplates.resolve("vicuna", SpecialTokens.LLAMA, null));
        assertEquals("unknown chat template 'vicuna'; expected one of vicuna_v1.1, koala, llama-2, chatml, llama-3,"
                + " alpaca, fastchat-alpaca, none, model (the model's chat_template) or a .jinja file", e.getMessage());
        assertFalse(BuiltinTemplate.byName("chatml").isEmpty());
    }
}
