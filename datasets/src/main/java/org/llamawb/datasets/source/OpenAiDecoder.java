package org.llamawb.datasets.source;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.llamawb.datasets.example.Conversation;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.Origin;
import org.llamawb.datasets.example.Role;
import org.llamawb.datasets.example.UnpairedPreference;

/**
 * OpenAI chat messages ({@code messages: [{role, content}]}, content a string or a list of
 * {@code {type: "text", text}} parts) and the KTO variant with a boolean {@code label}.
 */
final class OpenAiDecoder {
    private OpenAiDecoder() {}

    static List<Example> conversation(JsonNode record, Origin origin) throws BadRecord {
        List<Message> messages = messages(record);
        ConversationRules.checkConversation(messages);
        return List.of(new Conversation(Fields.id(record, origin.toString()), origin, messages));
    }

    static List<Example> kto(JsonNode record, Origin origin) throws BadRecord {
        JsonNode label = record.get("label");
        if (label == null || !label.isBoolean()) {
            throw new BadRecord("key 'label' must be true or false");
        }
        Conversation c = (Conversation) conversation(record, origin).get(0);
        return List.of(new UnpairedPreference(c, label.booleanValue()));
    }

    static List<Message> messages(JsonNode record) throws BadRecord {
        JsonNode list = Fields.array(record, "messages", "");
        List<Message> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            JsonNode m = list.get(i);
            String where = "messages[" + i + "].";
            if (!m.isObject()) {
                throw new BadRecord("'messages[" + i + "]' must be an object {role, content}");
            }
            String role = Fields.text(m, "role", where);
            out.add(new Message(role(role, where), content(m, where)));
        }
        return out;
    }

    private static Role role(String role, String where) throws BadRecord {
        return switch (role) {
            case "system", "developer" -> Role.SYSTEM;
            case "user" -> Role.USER;
            case "assistant" -> Role.ASSISTANT;
            default -> throw new BadRecord("unknown role '" + role + "' in '" + where + "role'"
                    + " (expected system, user or assistant)");
        };
    }

    private static String content(JsonNode m, String where) throws BadRecord {
        JsonNode c = m.get("content");
        if (c == null || c.isNull()) {
            throw new BadRecord("missing key '" + where + "content'");
        }
        if (c.isTextual()) {
            return c.asText();
        }
        if (c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < c.size(); i++) {
                JsonNode part = c.get(i);
                if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw new BadRecord("'" + where + "content[" + i + "]' is not a {\"type\": \"text\", \"text\": ...} part"
                            + " (only text content is supported)");
                }
                sb.append(part.get("text").asText());
            }
            return sb.toString();
        }
        throw new BadRecord("key '" + where + "content' must be a string or a list of text parts");
    }
}
