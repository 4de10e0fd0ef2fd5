package org.llamawb.datasets.example;

import java.util.Objects;

/**
 * A conversation whose last assistant answer is labelled desirable or not (KTO-style data, e.g.
 * LLaMA-Factory's {@code kto_en_demo.json}: {@code messages} plus {@code label}).
 */
public record UnpairedPreference(Conversation conversation, boolean desirable) implements Example {
    public UnpairedPreference {
        Objects.requireNonNull(conversation, "conversation");
    }

    @Override
    public String id() {
        return conversation.id();
    }

    @Override
    public Origin origin() {
        return conversation.origin();
    }
}
