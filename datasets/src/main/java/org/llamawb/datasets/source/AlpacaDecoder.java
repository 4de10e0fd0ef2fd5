package org.llamawb.datasets.source;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.llamawb.datasets.example.Conversation;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.Origin;

/**
 * Alpaca records {@code {instruction, input, output}} with LLaMA-Factory's optional {@code system} and
 * {@code history: [[query, answer], ...]}.
 *
 * <p>The user turn is {@code instruction}, or {@code instruction + "\n" + input} when the input is not
 * empty (LLaMA-Factory's joining). Rendering it as Stanford Alpaca's "### Instruction / ### Input" prompt
 * is the {@code alpaca} chat template's job, not the reader's.
 */
final class AlpacaDecoder {
    private AlpacaDecoder() {}

    static List<Example> conversation(JsonNode record, Origin origin) throws BadRecord {
        List<Message> messages = new ArrayList<>();
        String system = Fields.optionalText(record, "system", "");
        if (!system.isEmpty()) {
            messages.add(Message.system(system));
        }
        JsonNode history = record.get("history");
        if (history != null && !history.isNull()) {
            if (!history.isArray()) {
                throw new BadRecord("key 'history' must be a list of [query, answer] pairs");
            }
            for (int i = 0; i < history.size(); i++) {
                JsonNode h = history.get(i);
                if (!h.isArray() || h.size() != 2 || !h.get(0).isTextual() || !h.get(1).isTextual()) {
                    throw new BadRecord("'history[" + i + "]' must be a [query, answer] pair of strings");
                }
                messages.add(Message.user(h.get(0).asText()));
                messages.add(Message.assistant(h.get(1).asText()));
            }
        }
        String instruction = Fields.text(record, "instruction", "");
        String input = Fields.optionalText(record, "input", "");
        messages.add(Message.user(instruction, input));
        if (!record.has("output") || record.get("output").isNull()) {
            throw new BadRecord("missing assistant turn: key 'output' is absent");
        }
        messages.add(Message.assistant(Fields.text(record, "output", "")));
        ConversationRules.checkConversation(messages);
        return List.of(new Conversation(Fields.id(record, origin.toString()), origin, messages));
    }
}
