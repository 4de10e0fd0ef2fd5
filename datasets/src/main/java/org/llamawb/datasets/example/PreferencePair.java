package org.llamawb.datasets.example;

import java.util.List;
import java.util.Objects;

/**
 * A preferred and a dispreferred answer to the same prompt (reward modelling, DPO).
 *
 * @param prompt the shared context: optional system, then user/assistant turns ending with a user turn
 * @param chosen the preferred assistant answer
 * @param rejected the dispreferred assistant answer
 */
public record PreferencePair(String id, Origin origin, List<Message> prompt, Message chosen, Message rejected)
        implements Example {
    public PreferencePair {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(origin, "origin");
        prompt = List.copyOf(prompt);
        if (chosen.role() != Role.ASSISTANT || rejected.role() != Role.ASSISTANT) {
            throw new IllegalArgumentException("chosen and rejected must be assistant messages");
        }
    }

    /** The prompt followed by the chosen answer. */
    public List<Message> chosenConversation() {
        return append(prompt, chosen);
    }

    /** The prompt followed by the rejected answer. */
    public List<Message> rejectedConversation() {
        return append(prompt, rejected);
    }

    private static List<Message> append(List<Message> prompt, Message last) {
        var out = new java.util.ArrayList<Message>(prompt.size() + 1);
        out.addAll(prompt);
        out.add(last);
        return List.copyOf(out);
    }
}
