package org.llamawb.datasets.source;

import java.util.List;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.Role;

/**
 * The shape every decoded dialogue must have: at most one system message and only first, then user and
 * assistant turns alternating starting with the user, no empty turn. A supervised conversation ends with
 * an assistant turn; a prompt ends with a user turn.
 */
final class ConversationRules {
    private ConversationRules() {}

    /** Checks a conversation to train on. */
    static void checkConversation(List<Message> messages) throws BadRecord {
        checkTurns(messages);
        if (messages.stream().noneMatch(m -> m.role() == Role.ASSISTANT)) {
            throw new BadRecord("missing assistant turn");
        }
        if (messages.get(messages.size() - 1).role() != Role.ASSISTANT) {
            throw new BadRecord("conversation does not end with an assistant turn (last turn is "
                    + messages.get(messages.size() - 1).role().wireName() + ")");
        }
    }

    /** Checks a context that an answer will follow. */
    static void checkPrompt(List<Message> messages) throws BadRecord {
        checkTurns(messages);
        if (messages.isEmpty() || messages.get(messages.size() - 1).role() != Role.USER) {
            throw new BadRecord("prompt does not end with a user turn");
        }
    }

    /** Checks one answer. */
    static void checkAnswer(Message answer, String what) throws BadRecord {
        if (answer.role() != Role.ASSISTANT) {
            throw new BadRecord(what + " is a " + answer.role().wireName() + " turn, expected an assistant turn");
        }
        if (answer.content().isBlank()) {
            throw new BadRecord("empty assistant turn in " + what);
        }
    }

    private static void checkTurns(List<Message> messages) throws BadRecord {
        if (messages.isEmpty()) {
            throw new BadRecord("no turns");
        }
        int start = messages.get(0).role() == Role.SYSTEM ? 1 : 0;
        for (int i = 0; i < messages.size(); i++) {
            Message m = messages.get(i);
            if (i >= start) {
                Role expected = (i - start) % 2 == 0 ? Role.USER : Role.ASSISTANT;
                if (m.role() != expected) {
                    throw new BadRecord("turn " + (i + 1) + " is " + m.role().wireName() + ", expected "
                            + expected.wireName() + " (turns must alternate user/assistant after an optional system message)");
                }
            }
            if (m.role() != Role.SYSTEM && m.content().isBlank()) {
                throw new BadRecord("empty " + m.role().wireName() + " turn (turn " + (i + 1) + ")");
            }
        }
    }
}
