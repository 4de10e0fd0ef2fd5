package org.llamawb.datasets.template;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.Role;

/**
 * A model's own Jinja {@code chat_template} (from {@code tokenizer_config.json}), rendered with Jinjava as
 * transformers' {@code apply_chat_template} renders it: context {@code messages} (dicts with {@code role}
 * and {@code content}), {@code add_generation_prompt}, and the special-token strings ({@code bos_token},
 * {@code eos_token}, {@code unk_token}, {@code pad_token}).
 *
 * <p>Trained spans: a template with {@code {% generation %}} blocks marks them itself (as transformers'
 * {@code return_assistant_tokens_mask} reads them). Otherwise each assistant turn {@code k} is found by
 * rendering {@code messages[:k]} with the generation prompt and {@code messages[:k+1]} without it: the
 * answer is what the second adds to the first, i.e. what the model must write after the generation prompt,
 * less the whitespace a template writes after the end-of-turn marker. A template whose
 * earlier output changes when later messages are added cannot be masked this way and is reported.
 */
public final class JinjaChatTemplate implements ChatTemplate {
    private static final Pattern GENERATION_TAG = Pattern.compile("\\{%-?\\s*generation\\s*-?%}");

    private final String name;
    private final String source;
    private final String parsedSource;
    private final Map<String, Object> specialTokens;
    private final Jinjava jinjava;
    private final boolean marksGeneration;

    /**
     * @param name how the template is named in messages (e.g. the tokenizer_config.json path)
     * @param source the Jinja source
     * @param specialTokens {@code bos_token}, {@code eos_token}, ... as the template context names them
     */
    public JinjaChatTemplate(String name, String source, Map<String, String> specialTokens) {
        this.name = Objects.requireNonNull(name, "name");
        this.source = Objects.requireNonNull(source, "source");
        this.parsedSource = PythonJinjaSyntax.rewrite(source);
        this.specialTokens = new HashMap<>(specialTokens);
        this.jinjava = JinjaEnvironment.create();
        this.marksGeneration = GENERATION_TAG.matcher(source).find();
    }

    @Override
    public String name() {
        return name;
    }

    /** The Jinja source. */
    public String source() {
        return source;
    }

    /** Renders the template over {@code messages} exactly as transformers would, with no span analysis. */
    public String renderText(List<Message> messages, boolean addGenerationPrompt) {
        return stripMarkers(renderRaw(messages, addGenerationPrompt));
    }

    @Override
    public RenderedChat render(List<Message> messages, boolean addGenerationPrompt) {
        String raw = renderRaw(messages, addGenerationPrompt);
        if (marksGeneration) {
            return fromMarkers(raw);
        }
        String text = raw;
        List<CharSpan> spans = new ArrayList<>();
        if (!addGenerationPrompt) {
            for (int k = 0; k < messages.size(); k++) {
                if (messages.get(k).role() != Role.ASSISTANT) {
                    continue;
                }
                String prompt = renderText(messages.subList(0, k), true);
                String upTo = renderText(messages.subList(0, k + 1), false);
                if (!upTo.startsWith(prompt) || !text.startsWith(prompt)) {
                    throw new TemplateException("chat template " + name + " is not prefix-stable at turn " + (k + 1)
                            + ": the text before the answer changes when the answer is added, so the trained span"
                            + " cannot be found (mark it with {% generation %} in the template)");
                }
                int end = commonPrefix(upTo, text);
                int start = prompt.length();
                while (end > start && PyStrings.isSpace(text.charAt(end - 1))) {
                    end--;
                }
                if (end > start) {
                    if (!spans.isEmpty() && spans.get(spans.size() - 1).end() > start) {
                        throw new TemplateException("chat template " + name + ": answers overlap at turn " + (k + 1));
                    }
                    spans.add(new CharSpan(start, end));
                }
            }
        }
        return new RenderedChat(text, spans);
    }

    private String renderRaw(List<Message> messages, boolean addGenerationPrompt) {
        Map<String, Object> ctx = new HashMap<>(specialTokens);
        List<Map<String, Object>> list = new ArrayList<>(messages.size());
        for (Message m : messages) {
            Map<String, Object> msg = new LinkedHashMap<>();
            msg.put("role", m.role().wireName());
            msg.put("content", m.content());
            list.add(msg);
        }
        ctx.put("messages", list);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        RenderResult result = jinjava.renderForResult(parsedSource, ctx);
        for (TemplateError e : result.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new TemplateException("chat template " + name + ": " + describe(e));
            }
        }
        return result.getOutput();
    }

    private static String describe(TemplateError e) {
        Throwable t = e.getException();
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof JinjaEnvironment.Raised r) {
                return "raise_exception: " + r.getMessage();
            }
        }
        String msg = e.getMessage() == null ? "" : e.getMessage();
        int raised = msg.indexOf(JinjaEnvironment.Raised.class.getSimpleName());
        if (raised >= 0) {
            return "raise_exception: " + msg.substring(msg.indexOf(':', raised) + 1).trim();
        }
        return msg.lines().findFirst().orElse("") + (e.getLineno() > 0 ? " (template line " + e.getLineno() + ")" : "");
    }

    private static int commonPrefix(String a, String b) {
        int n = Math.min(a.length(), b.length());
        int i = 0;
        while (i < n && a.charAt(i) == b.charAt(i)) {
            i++;
        }
        return i;
    }

    private static String stripMarkers(String raw) {
        if (raw.indexOf(JinjaEnvironment.GENERATION_START) < 0) {
            return raw;
        }
        return raw.replace(String.valueOf(JinjaEnvironment.GENERATION_START), "")
                .replace(String.valueOf(JinjaEnvironment.GENERATION_END), "");
    }

    private static RenderedChat fromMarkers(String raw) {
        StringBuilder text = new StringBuilder(raw.length());
        List<CharSpan> spans = new ArrayList<>();
        int start = -1;
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == JinjaEnvironment.GENERATION_START) {
                start = text.length();
            } else if (c == JinjaEnvironment.GENERATION_END) {
                if (start >= 0 && text.length() > start) {
                    spans.add(new CharSpan(start, text.length()));
                }
                start = -1;
            } else {
                text.append(c);
            }
        }
        return new RenderedChat(text.toString(), spans);
    }
}
