package org.llamawb.datasets.source;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.Origin;
import org.llamawb.datasets.example.Prompt;

/**
 * Prompt lists: each record a JSON string (OpenAssistant's {@code en_100_text.jsonl}) or an object with a
 * {@code prompt} string or {@code messages} list ending with a user turn.
 */
final class PromptDecoder {
    private PromptDecoder() {}

    static List<Example> prompt(JsonNode record, Origin origin) throws BadRecord {
        List<Message> messages;
        if (record.isTextual()) {
            messages = List.of(Message.user(record.asText()));
        } else if (record.isObject() && record.has("messages")) {
            messages = OpenAiDecoder.messages(record);
        } else if (record.isObject()) {
            messages = List.of(Message.user(Fields.text(record, "prompt", "")));
        } else {
            throw new BadRecord("a prompt record must be a string or an object with 'prompt' or 'messages'");
        }
        ConversationRules.checkPrompt(messages);
        return List.of(new Prompt(record.isObject() ? Fields.id(record, origin.toString()) : origin.toString(),
                origin, messages));
    }
}
