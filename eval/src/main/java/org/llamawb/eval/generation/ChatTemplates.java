package org.llamawb.eval.generation;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.llamawb.model.BadInputException;

/**
 * Built-in chat templates, written after FastChat's conversation templates (the format MT-bench answers are
 * generated with). Text written as {@code <s>}/{@code </s>} encodes to the BOS/EOS ids.
 * <ul>
 *   <li>{@code vicuna_v1.1}: {@code SYSTEM USER: q ASSISTANT: a</s>USER: q ASSISTANT:}
 *   <li>{@code llama-2}: {@code <s>[INST] <<SYS>>\nSYSTEM\n<</SYS>>\n\nq [/INST] a </s><s>[INST] q [/INST]}
 *   <li>{@code chatml}: {@code <|im_start|>role\ncontent<|im_end|>\n} per message, then {@code <|im_start|>assistant\n}
 *   <li>{@code plain}: {@code User: q\nAssistant: a\nUser: q\nAssistant:} (for base models such as stories260K)
 * </ul>
 */
public final class ChatTemplates {
    static final String VICUNA_SYSTEM = "A chat between a curious user and an artificial intelligence assistant. "
            + "The assistant gives helpful, detailed, and polite answers to the user's questions.";

    private static final Map<String, ChatTemplate> BUILT_IN = new TreeMap<>();

    static {
        register(new Simple("vicuna_v1.1") {
            @Override
            public String render(List<ChatMessage> messages, String system) {
                StringBuilder sb = new StringBuilder(system != null ? system : VICUNA_SYSTEM).append(' ');
                for (ChatMessage m : turns(messages)) {
                    if (m.role().equals("user")) {
                        sb.append("USER: ").append(m.content()).append(" ");
                    } else {
                        sb.append("ASSISTANT: ").append(m.content()).append("</s>");
                    }
                }
                return sb.append("ASSISTANT:").toString();
            }
        });
        register(new Simple("llama-2") {
            @Override
            public String render(List<ChatMessage> messages, String system) {
                StringBuilder sb = new StringBuilder();
                boolean first = true;
                for (ChatMessage m : turns(messages)) {
                    if (m.role().equals("user")) {
                        sb.append("<s>[INST] ");
                        if (first && system != null && !system.isEmpty()) {
                            sb.append("<<SYS>>\n").append(system).append("\n<</SYS>>\n\n");
                        }
                        sb.append(m.content().strip()).append(" [/INST]");
                        first = false;
                    } else {
                        sb.append(" ").append(m.content().strip()).append(" </s>");
                    }
                }
                return sb.toString();
            }
        });
        register(new Simple("chatml") {
            @Override
            public String render(List<ChatMessage> messages, String system) {
                StringBuilder sb = new StringBuilder();
                if (system != null) {
                    sb.append("<|im_start|>system\n").append(system).append("<|im_end|>\n");
                }
                for (ChatMessage m : turns(messages)) {
                    sb.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append("<|im_end|>\n");
                }
                return sb.append("<|im_start|>assistant\n").toString();
            }
        });
        register(new Simple("plain") {
            @Override
            public String render(List<ChatMessage> messages, String system) {
                StringBuilder sb = new StringBuilder();
                if (system != null) {
                    sb.append(system).append('\n');
                }
                for (ChatMessage m : turns(messages)) {
                    sb.append(m.role().equals("user") ? "User: " : "Assistant: ").append(m.content()).append('\n');
                }
                return sb.append("Assistant:").toString();
            }
        });
    }

    private ChatTemplates() {}

    private static void register(ChatTemplate t) {
        BUILT_IN.put(t.name(), t);
    }

    /** A built-in template by name; an error listing the names otherwise. */
    public static ChatTemplate named(String name) {
        ChatTemplate t = BUILT_IN.get(name);
        if (t == null) {
            throw new BadInputException("unknown chat template '" + name + "' (built in: " + String.join(", ", BUILT_IN.keySet()) + ")");
        }
        return t;
    }

    private abstract static class Simple implements ChatTemplate {
        private final String name;

        Simple(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        /** Checks that turns alternate user, assistant, ... and end with a user turn. */
        static List<ChatMessage> turns(List<ChatMessage> messages) {
            for (int i = 0; i < messages.size(); i++) {
                String expected = i % 2 == 0 ? "user" : "assistant";
                if (!messages.get(i).role().equals(expected)) {
                    throw new IllegalArgumentException("turn " + i + " is " + messages.get(i).role() + ", expected " + expected);
                }
            }
            if (messages.isEmpty() || messages.size() % 2 == 0) {
                throw new IllegalArgumentException("a prompt ends with a user turn");
            }
            return messages;
        }
    }
}
