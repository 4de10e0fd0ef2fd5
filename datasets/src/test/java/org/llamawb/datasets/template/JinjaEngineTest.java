package org.llamawb.datasets.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.datasets.example.Message;
import org.llamawb.model.BadInputException;

/** The Python-Jinja behaviours chat templates rely on, where Jinjava alone would differ. */
class JinjaEngineTest {
    private static final List<Message> FOUR = List.of(Message.user("a"), Message.assistant("b"),
            Message.user("c"), Message.assistant("d"));

    private static String render(String template) {
        return new JinjaChatTemplate("t", template, Map.of("bos_token", "<s>", "eos_token", "</s>")).renderText(FOUR, false);
    }

    @Test
    void steppedSlicesAsPython() {
        assertEquals("dcba", render("{% for m in messages[::-1] %}{{ m.content }}{% endfor %}"));
        assertEquals("a,c", render("{{ messages[::2]|map(attribute='content')|join(',') }}"));
        assertEquals("edc", render("{{ 'abcdef'[4:1:-1] }}"));
        assertEquals("fedcba", render("{{ 'abcdef'[::-1] }}"));
        assertEquals("bc", render("{{ 'abcdef'[1:3] }}"), "plain slices are left to Jinjava");
    }

    @Test
    void keywordArgumentValuesAreWholeExpressions() {
        assertEquals("3|x,y", render("{% set ns = namespace(i=messages|length - 1, s='x,y') %}{{ ns.i }}|{{ ns.s }}"));
        assertEquals("1q2z", render("{% macro f(x, y='q') %}{{ x }}{{ y }}{% endmacro %}{{ f(1) }}{{ f(2, y='z') }}"));
    }

    @Test
    void filtersBindTighterThanPlusAndTrimIsPythonStrip() {
        assertEquals("[x]", render("{{ '[' + '  x \\n'|trim + ']' }}"));
        assertEquals("ab", render("{{ '\\u00a0a\\u2003'.strip() }}b"), "Python strips Unicode spaces");
    }

    @Test
    void stringEscapesAsPython() {
        assertEquals("a\u00e9A\\/\n\"", render("{{ 'a\\u00e9\\x41\\/\\n\\\"' }}"));
    }

    @Test
    void messageContentIsNeverRenderedAgain() {
        var t = new JinjaChatTemplate("t", "{{ messages[0].content }}", Map.of());
        assertEquals("{{ 1 + 1 }} {% raw %}", t.renderText(List.of(Message.user("{{ 1 + 1 }} {% raw %}")), false));
    }

    @Test
    void tojsonAndItemsAsTransformers() {
        assertEquals("{\"a\": 1, \"b\": [\"é\", true, null]}", render("{{ {'a': 1, 'b': ['é', true, none]}|tojson }}"));
        assertEquals("a=1;b=x;", render("{% for k, v in {'a': 1, 'b': 'x'}|items %}{{ k }}={{ v }};{% endfor %}"));
        assertEquals("{\n  \"a\": 1\n}", render("{{ {'a': 1}|tojson(indent=2) }}"));
    }

    @Test
    void pythonStringMethods() {
        assertEquals("x|y-z|True", render("{{ 'x y'.split()|join('|') }}-{{ 'z\\n'.rstrip('\\n') }}|{{ 'ab'.startswith('a') }}")
                .replace("true", "True"));
        assertEquals("Hello World", render("{{ 'hello world'.title() }}"));
    }

    @Test
    void raiseExceptionIsOneLineWithTheTemplatesMessage() {
        var t = new JinjaChatTemplate("my/tokenizer_config.json", "{{ raise_exception('Roles must alternate') }}", Map.of());
        TemplateException e = assertThrows(TemplateException.class, () -> t.renderText(FOUR, false));
        assertEquals("chat template my/tokenizer_config.json: raise_exception: Roles must alternate", e.getMessage());
    }

    @Test
    void nonPrefixStableTemplatesAreReportedNotMismasked() {
        // The last assistant turn is written differently from earlier ones, so diffing renderings cannot
        // find the answers: reported, with the way out.
        var t = new JinjaChatTemplate("t", "{% for m in messages %}{% if loop.last %}LAST:{% endif %}{{ m.content }}{% endfor %}", Map.of());
        TemplateException e = assertThrows(TemplateException.class, () -> t.render(FOUR, false));
        assertEquals("chat template t is not prefix-stable at turn 2: the text before the answer changes when the answer"
                + " is added, so the trained span cannot be found (mark it with {% generation %} in the template)", e.getMessage());
    }

    @Test
    void modelTemplateComesFromTokenizerConfigWithItsSpecialTokens(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": {\"content\": \"<B>\", \"lstrip\": false},"
                + " \"eos_token\": \"<E>\", \"chat_template\": [{\"name\": \"tool_use\", \"template\": \"x\"},"
                + " {\"name\": \"default\", \"template\": \"{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}\"}]}");
        ChatTemplate t = ChatTemplates.resolve("model", SpecialTokens.LLAMA, dir);
        RenderedChat r = t.render(List.of(Message.user("q"), Message.assistant("a")), false);
        assertEquals("<B>q<E>a<E>", r.text());
        assertEquals("a<E>", r.trainedText());
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"</s>\"}");
        var e = assertThrows(BadInputException.class, () -> ChatTemplates.resolve("model", SpecialTokens.LLAMA, dir));
        assertEquals(dir.resolve("tokenizer_config.json") + ": no chat_template; name a built-in template instead (one of"
                + " vicuna_v1.1, koala, llama-2, chatml, llama-3, alpaca, fastchat-alpaca, none)", e.getMessage());
        Files.writeString(dir.resolve("chat_template.jinja"), "{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}");
        assertEquals("[user]q[assistant]a", ChatTemplates.resolve("model", SpecialTokens.LLAMA, dir)
                .render(List.of(Message.user("q"), Message.assistant("a")), false).text());
    }
}
