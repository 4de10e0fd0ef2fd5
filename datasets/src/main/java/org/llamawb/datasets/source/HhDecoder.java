package org.llamawb.datasets.source;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.Origin;
import org.llamawb.datasets.example.PreferencePair;

/**
 * Anthropic HH-RLHF pairs: {@code chosen} and {@code rejected} are whole dialogues written as
 * {@code "\n\nHuman: ...\n\nAssistant: ..."} that share a beginning and differ in the last assistant turn.
 *
 * <p>The shared prompt is found from the texts themselves (their common prefix, cut back to the last
 * {@code "\n\nAssistant:"} marker in it), not by assuming the rejected text repeats the chosen one: in the
 * harmless-base test split a few pairs differ earlier, and those are reported instead of silently
 * producing a wrong pair.
 */
final class HhDecoder {
    static final String HUMAN = "\n\nHuman:";
    static final String ASSISTANT = "\n\nAssistant:";

    private HhDecoder() {}

    static List<Example> pair(JsonNode record, Origin origin) throws BadRecord {
        String chosen = Fields.text(record, "chosen", "");
        String rejected = Fields.text(record, "rejected", "");
        int common = 0;
        int max = Math.min(chosen.length(), rejected.length());
        while (common < max && chosen.charAt(common) == rejected.charAt(common)) {
            common++;
        }
        // The marker must lie wholly inside the shared prefix.
        int marker = chosen.lastIndexOf(ASSISTANT, common - ASSISTANT.length());
        if (marker < 0) {
            throw new BadRecord("no '\\n\\nAssistant:' turn before chosen and rejected differ");
        }
        List<Message> prompt = parseDialogue(chosen.substring(0, marker));
        ConversationRules.checkPrompt(prompt);
        int answerStart = marker + ASSISTANT.length();
        Message c = Message.assistant(answerText(chosen.substring(answerStart), "chosen"));
        Message r = Message.assistant(answerText(rejected.substring(answerStart), "rejected"));
        ConversationRules.checkAnswer(c, "chosen");
        ConversationRules.checkAnswer(r, "rejected");
        return List.of(new PreferencePair(Fields.id(record, origin.toString()), origin, prompt, c, r));
    }

    private static String answerText(String raw, String which) throws BadRecord {
        if (raw.contains(HUMAN) || raw.contains(ASSISTANT)) {
            throw new BadRecord("chosen and rejected differ before their last Assistant turn (" + which
                    + " continues with further turns)");
        }
        return raw.startsWith(" ") ? raw.substring(1) : raw;
    }

    /** Splits {@code "\n\nHuman: a\n\nAssistant: b..."} into turns; the text must start with a Human marker. */
    static List<Message> parseDialogue(String text) throws BadRecord {
        if (!text.startsWith(HUMAN)) {
            throw new BadRecord("HH dialogue does not start with '\\n\\nHuman:'");
        }
        List<Message> out = new ArrayList<>();
        int pos = 0;
        while (pos < text.length()) {
            boolean human = text.startsWith(HUMAN, pos);
            int bodyStart = pos + (human ? HUMAN.length() : ASSISTANT.length());
            int nextH = text.indexOf(HUMAN, bodyStart);
            int nextA = text.indexOf(ASSISTANT, bodyStart);
            int next = nextH < 0 ? nextA : nextA < 0 ? nextH : Math.min(nextH, nextA);
            if (next < 0) {
                next = text.length();
            }
            String body = text.substring(bodyStart, next);
            body = body.startsWith(" ") ? body.substring(1) : body;
            out.add(human ? Message.user(body) : Message.assistant(body));
            pos = next;
        }
        return out;
    }
}
