package org.llamawb.datasets.source;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.Origin;
import org.llamawb.datasets.example.PreferencePair;

/**
 * Preference pairs in TRL's shapes: {@code prompt}/{@code chosen}/{@code rejected} as strings or as
 * {@code [{role, content}]} lists, or without {@code prompt} ("implicit prompt": chosen and rejected are
 * whole conversations sharing their beginning). Anthropic HH text pairs are {@link HhDecoder}'s.
 */
final class PreferenceDecoder {
    private PreferenceDecoder() {}

    static List<Example> pair(JsonNode record, Origin origin) throws BadRecord {
        JsonNode chosenNode = required(record, "chosen");
        JsonNode rejectedNode = required(record, "rejected");
        String id = Fields.id(record, origin.toString());
        JsonNode promptNode = record.get("prompt");
        if (promptNode == null || promptNode.isNull()) {
            if (chosenNode.isTextual() && rejectedNode.isTextual()) {
                return HhDecoder.pair(record, origin);
            }
            return implicitPrompt(id, origin, chosenNode, rejectedNode);
        }
        List<Message> prompt = promptNode.isTextual()
                ? List.of(Message.user(promptNode.asText()))
                : messages(promptNode, "prompt");
        ConversationRules.checkPrompt(prompt);
        Message chosen = answer(chosenNode, "chosen");
        Message rejected = answer(rejectedNode, "rejected");
        return List.of(new PreferencePair(id, origin, prompt, chosen, rejected));
    }

    private static List<Example> implicitPrompt(String id, Origin origin, JsonNode chosenNode, JsonNode rejectedNode)
            throws BadRecord {
        List<Message> chosen = messages(chosenNode, "chosen");
        List<Message> rejected = messages(rejectedNode, "rejected");
        int common = 0;
        while (common < chosen.size() - 1 && common < rejected.size() - 1
                && chosen.get(common).equals(rejected.get(common))) {
            common++;
        }
        if (common != chosen.size() - 1 || common != rejected.size() - 1) {
            throw new BadRecord("chosen and rejected differ before their last turn (expected a shared prompt"
                    + " followed by one assistant answer each)");
        }
        List<Message> prompt = chosen.subList(0, common);
        ConversationRules.checkPrompt(prompt);
        Message c = chosen.get(common);
        Message r = rejected.get(common);
        ConversationRules.checkAnswer(c, "chosen");
        ConversationRules.checkAnswer(r, "rejected");
        return List.of(new PreferencePair(id, origin, prompt, c, r));
    }

    private static Message answer(JsonNode node, String key) throws BadRecord {
        Message m;
        if (node.isTextual()) {
            m = Message.assistant(node.asText());
        } else {
            List<Message> list = messages(node, key);
            if (list.size() != 1) {
                throw new BadRecord("key '" + key + "' must hold exactly one assistant message, got " + list.size());
            }
            m = list.get(0);
        }
        ConversationRules.checkAnswer(m, key);
        return m;
    }

    private static List<Message> messages(JsonNode node, String key) throws BadRecord {
        if (!node.isArray()) {
            throw new BadRecord("key '" + key + "' must be a string or a list of {role, content} messages");
        }
        var wrapper = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        wrapper.set("messages", node);
        try {
            return new ArrayList<>(OpenAiDecoder.messages(wrapper));
        } catch (BadRecord e) {
            throw new BadRecord(e.getMessage().replace("messages[", key + "["));
        }
    }

    private static JsonNode required(JsonNode record, String key) throws BadRecord {
        JsonNode v = record.get(key);
        if (v == null || v.isNull()) {
            throw new BadRecord("missing key '" + key + "'");
        }
        return v;
    }
}
