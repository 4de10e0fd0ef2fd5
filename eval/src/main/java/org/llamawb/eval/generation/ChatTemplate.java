package org.llamawb.eval.generation;

import java.util.List;

/** Renders a conversation to the prompt text a chat model was trained on. */
public interface ChatTemplate {

    /** The template's name, e.g. {@code vicuna_v1.1}. */
    String name();

    /**
     * The prompt for {@code messages} (user and assistant turns, alternating, starting with user), ending
     * where the assistant's next answer begins. {@code system} replaces the template's default system
     * prompt when not null.
     */
    String render(List<ChatMessage> messages, String system);
}
