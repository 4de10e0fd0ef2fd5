package org.llamawb.datasets.source;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.llamawb.datasets.example.Conversation;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.Origin;
import org.llamawb.datasets.example.PreferencePair;
import org.llamawb.datasets.example.Role;

/**
 * ShareGPT / Vicuna records ({@code conversations: [{from, value}]}, FastChat's training format, with an
 * optional top-level {@code system}) and LLaMA-Factory's ShareGPT-form preference pairs
 * ({@code conversations} ending with a human turn, plus {@code chosen} and {@code rejected}
 * {@code {from, value}} answers).
 */
final class ShareGptDecoder {
    private ShareGptDecoder() {}

    static List<Example> conversation(JsonNode record, Origin origin) throws BadRecord {
        List<Message> messages = turns(record);
        ConversationRules.checkConversation(messages);
        return List.of(new Conversation(Fields.id(record, origin.toString()), origin, messages));
    }

    static List<Example> pair(JsonNode record, Origin origin) throws BadRecord {
        List<Message> prompt = turns(record);
        ConversationRules.checkPrompt(prompt);
        Message chosen = answer(record, "chosen");
        Message rejected = answer(record, "rejected");
        return List.of(new PreferencePair(Fields.id(record, origin.toString()), origin, prompt, chosen, rejected));
    }

    private static List<Message> turns(JsonNode record) throws BadRecord {
        JsonNode turns = Fields.array(record, "conversations", "");
        List<Message> messages = new ArrayList<>();
        String system = Fields.optionalText(record, "system", "");
        if (!system.isEmpty()) {
            messages.add(Message.system(system));
        }
        for (int i = 0; i < turns.size(); i++) {
            messages.add(turn(turns.get(i), "conversations[" + i + "]."));
        }
        return messages;
    }

    private static Message answer(JsonNode record, String key) throws BadRecord {
        JsonNode node = record.get(key);
        if (node == null || !node.isObject()) {
            throw new BadRecord("missing key '" + key + "' (expected {\"from\": \"gpt\", \"value\": ...})");
        }
        Message m = turn(node, key + ".");
        ConversationRules.checkAnswer(m, key);
        return m;
    }

    private static Message turn(JsonNode turn, String where) throws BadRecord {
        if (!turn.isObject()) {
            throw new BadRecord("'" + where.substring(0, where.length() - 1) + "' must be an object {from, value}");
        }
        String from = Fields.text(turn, "from", where);
        String value = Fields.text(turn, "value", where);
        return new Message(role(from, where), value);
    }

    /** ShareGPT speaker names: FastChat's human/gpt plus the user/assistant/system spellings found in exports. */
    static Role role(String from, String where) throws BadRecord {
        return switch (from.toLowerCase(Locale.ROOT)) {
            case "human", "user" -> Role.USER;
            case "gpt", "assistant", "chatgpt", "bard", "bing" -> Role.ASSISTANT;
            case "system" -> Role.SYSTEM;
            default -> throw new BadRecord("unknown role '" + from + "' in '" + where + "from'"
                    + " (expected human, gpt or system)");
        };
    }
}
