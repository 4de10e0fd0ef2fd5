package org.llamawb.datasets.example;

import java.util.Objects;

/**
 * One turn of a dialogue: who says it and the text, exactly as in the file (no trimming).
 *
 * @param input the {@code input} field of an Alpaca record's user turn, null otherwise. {@code content} is
 *     then {@code instruction + "\n" + input} (LLaMA-Factory's joining, what every template but {@code
 *     alpaca} writes); the {@code alpaca} template writes the two apart, under {@code ### Instruction:} and
 *     {@code ### Input:}, as Stanford Alpaca does.
 */
public record Message(Role role, String content, String input) {
    public Message {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        if (input != null && !content.endsWith("\n" + input)) {
            throw new IllegalArgumentException("content must end with a newline and the input");
        }
    }

    public Message(Role role, String content) {
        this(role, content, null);
    }

    public static Message system(String content) {
        return new Message(Role.SYSTEM, content);
    }

    public static Message user(String content) {
        return new Message(Role.USER, content);
    }

    /** An Alpaca record's user turn: the instruction alone when the input is empty, else both. */
    public static Message user(String instruction, String input) {
        return input.isEmpty() ? user(instruction) : new Message(Role.USER, instruction + "\n" + input, input);
    }

    public static Message assistant(String content) {
        return new Message(Role.ASSISTANT, content);
    }

    /** The instruction of an Alpaca user turn (the content without its input), else the content. */
    public String instruction() {
        return input == null ? content : content.substring(0, content.length() - input.length() - 1);
    }
}
