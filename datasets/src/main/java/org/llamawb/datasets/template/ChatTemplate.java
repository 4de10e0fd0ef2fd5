package org.llamawb.datasets.template;

import java.util.List;
import org.llamawb.datasets.example.Message;

/** Turns messages into model text, marking the trained characters. */
public interface ChatTemplate {

    /** The name used in recipes and on the command line ({@code vicuna_v1.1}, {@code model}, ...). */
    String name();

    /**
     * Renders {@code messages}.
     *
     * @param addGenerationPrompt when true (the messages end with a user turn) the text ends with what
     *     opens the assistant's answer, ready for generation; trained spans are then empty
     * @throws TemplateException when the template rejects the messages
     */
    RenderedChat render(List<Message> messages, boolean addGenerationPrompt);
}
