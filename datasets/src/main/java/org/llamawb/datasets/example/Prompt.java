package org.llamawb.datasets.example;

import java.util.List;
import java.util.Objects;

/** A context without an answer, ending with a user turn: prompts for generation, PPO rollouts or evaluation. */
public record Prompt(String id, Origin origin, List<Message> messages) implements Example {
    public Prompt {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(origin, "origin");
        messages = List.copyOf(messages);
    }
}
