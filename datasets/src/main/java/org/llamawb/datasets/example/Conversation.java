package org.llamawb.datasets.example;

import java.util.List;
import java.util.Objects;

/**
 * A supervised dialogue: an optional system message, then user and assistant turns alternating, ending
 * with an assistant turn. The shape is checked when a file is read (see {@code org.llamawb.datasets.source}), so a
 * {@code Conversation} in hand is always trainable.
 */
public record Conversation(String id, Origin origin, List<Message> messages) implements Example {
    public Conversation {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(origin, "origin");
        messages = List.copyOf(messages);
        if (messages.isEmpty()) {
            throw new IllegalArgumentException("a conversation needs at least one message");
        }
    }
}
