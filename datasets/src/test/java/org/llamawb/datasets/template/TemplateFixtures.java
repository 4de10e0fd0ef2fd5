package org.llamawb.datasets.template;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.Role;

/** Access to {@code fixtures/chat_templates.json} (see its README). */
public final class TemplateFixtures {
    private TemplateFixtures() {}

    public static JsonNode fixtures() {
        try (InputStream in = TemplateFixtures.class.getResourceAsStream("/fixtures/chat_templates.json")) {
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * The built-in a fixture's {@code template} names: the fixtures were rendered with FastChat, whose
     * {@code alpaca} is our {@code fastchat-alpaca} ({@code alpaca} is Stanford Alpaca's prompt).
     */
    public static BuiltinTemplate builtin(String fixtureName) {
        return fixtureName.equals("alpaca") ? BuiltinTemplate.FASTCHAT_ALPACA
                : BuiltinTemplate.byName(fixtureName).orElseThrow(() -> new AssertionError(fixtureName));
    }

    public static List<Message> conversation(JsonNode fx, String name) {
        List<Message> out = new ArrayList<>();
        for (JsonNode m : fx.path("conversations").path(name)) {
            Role role = switch (m.path("role").asText()) {
                case "system" -> Role.SYSTEM;
                case "user" -> Role.USER;
                default -> Role.ASSISTANT;
            };
            out.add(new Message(role, m.path("content").asText()));
        }
        return out;
    }

    public static JinjaChatTemplate jinja(JsonNode fx, String name) {
        JsonNode t = fx.path("templates").path(name);
        return new JinjaChatTemplate(name, t.path("source").asText(),
                Map.of("bos_token", t.path("bos_token").asText(), "eos_token", t.path("eos_token").asText()));
    }
}
