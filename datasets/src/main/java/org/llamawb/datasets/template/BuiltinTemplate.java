package org.llamawb.datasets.template;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.Role;

/**
 * The chat templates built in, each rendering exactly as its reference does (fixtures in the tests come
 * from {@code scripts/reference/chat_templates.py}):
 * <ul>
 *   <li>{@code vicuna_v1.1}, {@code koala}, {@code fastchat-alpaca}: FastChat's conversation templates
 *       ({@code vicuna_v1.1}, {@code koala_v1}, {@code alpaca}; separator style ADD_COLON_TWO). A system
 *       message in the conversation replaces the template's default one, as FastChat's
 *       {@code set_system_message} does;</li>
 *   <li>{@code alpaca}: Stanford Alpaca's {@code PROMPT_DICT} ({@code train.py}): {@code prompt_input} when
 *       the user turn carries an Alpaca {@code input} ({@link Message#input()}), else {@code
 *       prompt_no_input}; the answer follows {@code ### Response:} directly and ends with EOS, as its
 *       {@code targets} do. A system message replaces the preamble sentence. Alpaca is single-turn; later
 *       turns repeat the {@code ### Instruction:} / {@code ### Response:} blocks after the previous EOS;</li>
 *   <li>{@code llama-2}: the {@code chat_template} of meta-llama/Llama-2-7b-chat-hf
 *       ({@code <s>[INST] <<SYS>>…<</SYS>> … [/INST] answer </s>});</li>
 *   <li>{@code llama-3}: the {@code chat_template} of meta-llama/Meta-Llama-3-8B-Instruct;</li>
 *   <li>{@code chatml}: the ChatML {@code chat_template} of teknium/OpenHermes-2.5-Mistral-7B (no default
 *       system message);</li>
 *   <li>{@code none}: the contents back to back, each answer followed by the EOS token: plain
 *       completion training.</li>
 * </ul>
 * Trained text: everything the model has to write after the generation prompt to produce the answer: the
 * answer as the template writes it (stripped where the template strips), with the space that follows
 * {@code ASSISTANT:} or {@code [/INST]}, and the marker that ends it ({@code </s>}, {@code <|im_end|>},
 * {@code <|eot_id|>}, or EOS); never the newline a template writes after that marker.
 */
public enum BuiltinTemplate {
    VICUNA_V1_1("vicuna_v1.1"),
    KOALA("koala"),
    LLAMA_2("llama-2"),
    CHATML("chatml"),
    LLAMA_3("llama-3"),
    ALPACA("alpaca"),
    FASTCHAT_ALPACA("fastchat-alpaca"),
    NONE("none");

    static final String VICUNA_SYSTEM = "A chat between a curious user and an artificial intelligence assistant. "
            + "The assistant gives helpful, detailed, and polite answers to the user's questions.";
    static final String KOALA_SYSTEM = "BEGINNING OF CONVERSATION:";
    /** FastChat's alpaca system message, and Stanford Alpaca's preamble without an input. */
    static final String ALPACA_SYSTEM = "Below is an instruction that describes a task. "
            + "Write a response that appropriately completes the request.";
    /** Stanford Alpaca's preamble when the record has an input. */
    static final String ALPACA_INPUT_SYSTEM = "Below is an instruction that describes a task, paired with an input that"
            + " provides further context. Write a response that appropriately completes the request.";

    private final String wireName;

    BuiltinTemplate(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }

    /** A built-in by name ({@code koala_v1} is accepted for {@code koala}). */
    public static Optional<BuiltinTemplate> byName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.equals("koala_v1")) {
            return Optional.of(KOALA);
        }
        return Arrays.stream(values()).filter(t -> t.wireName.equals(n)).findFirst();
    }

    public static String names() {
        return Arrays.stream(values()).map(BuiltinTemplate::wireName).collect(Collectors.joining(", "));
    }

    /** This template with the tokenizer's special-token strings (used by llama-2, llama-3 and none). */
    public ChatTemplate with(SpecialTokens tokens) {
        return new Bound(this, tokens);
    }

    private record Bound(BuiltinTemplate template, SpecialTokens tokens) implements ChatTemplate {
        @Override
        public String name() {
            return template.wireName;
        }

        @Override
        public RenderedChat render(List<Message> messages, boolean addGenerationPrompt) {
            ChatBuilder out = new ChatBuilder();
            switch (template) {
                case VICUNA_V1_1 -> colonTwo(out, messages, addGenerationPrompt, VICUNA_SYSTEM, "USER", "ASSISTANT", " ", "</s>");
                case KOALA -> colonTwo(out, messages, addGenerationPrompt, KOALA_SYSTEM, "USER", "GPT", " ", "</s>");
                case ALPACA -> alpaca(out, messages, tokens);
                case FASTCHAT_ALPACA -> colonTwo(out, messages, addGenerationPrompt, ALPACA_SYSTEM, "### Instruction",
                        "### Response", "\n\n", "</s>");
                case LLAMA_2 -> llama2(out, messages, tokens);
                case CHATML -> chatml(out, messages, addGenerationPrompt);
                case LLAMA_3 -> llama3(out, messages, addGenerationPrompt, tokens);
                case NONE -> none(out, messages, tokens);
            }
            return out.build();
        }
    }

    /** FastChat's SeparatorStyle.ADD_COLON_TWO: {@code system sep ROLE: msg sep ROLE: msg sep2 ...}. */
    private static void colonTwo(ChatBuilder out, List<Message> messages, boolean gen, String defaultSystem,
            String userRole, String assistantRole, String sep, String sep2) {
        int start = 0;
        String system = defaultSystem;
        if (!messages.isEmpty() && messages.get(0).role() == Role.SYSTEM) {
            system = messages.get(0).content();
            start = 1;
        }
        out.plain(system + sep);
        for (int i = start; i < messages.size(); i++) {
            Message m = messages.get(i);
            if (m.role() == Role.ASSISTANT) {
                // The generation prompt ends at the colon, so the model writes the space itself.
                out.plain(assistantRole + ":").trained(" " + m.content() + sep2);
            } else {
                out.plain(userRole + ": " + m.content() + sep);
            }
        }
        if (gen) {
            out.plain(assistantRole + ":");
        }
    }

    /**
     * Stanford Alpaca: {@code PREAMBLE\n\n### Instruction:\n{instruction}[\n\n### Input:\n{input}]\n\n###
     * Response:} then the answer and EOS. The preamble mentions the input only when the first turn has one.
     */
    private static void alpaca(ChatBuilder out, List<Message> messages, SpecialTokens tokens) {
        int start = 0;
        String system = null;
        if (!messages.isEmpty() && messages.get(0).role() == Role.SYSTEM) {
            system = messages.get(0).content();
            start = 1;
        }
        if (system == null) {
            boolean withInput = start < messages.size() && messages.get(start).input() != null;
            system = withInput ? ALPACA_INPUT_SYSTEM : ALPACA_SYSTEM;
        }
        out.plain(system);
        for (int i = start; i < messages.size(); i++) {
            Message m = messages.get(i);
            if (m.role() == Role.ASSISTANT) {
                out.trained(m.content() + tokens.eos());
            } else {
                out.plain("\n\n### Instruction:\n" + m.instruction()
                        + (m.input() == null ? "" : "\n\n### Input:\n" + m.input()) + "\n\n### Response:");
            }
        }
        // The generation prompt is the user turn's own "### Response:": nothing to add.
    }

    /** meta-llama/Llama-2-7b-chat-hf's chat_template (no generation prompt: a user turn ends with [/INST]). */
    private static void llama2(ChatBuilder out, List<Message> messages, SpecialTokens tokens) {
        int start = 0;
        String system = null;
        if (!messages.isEmpty() && messages.get(0).role() == Role.SYSTEM) {
            system = messages.get(0).content();
            start = 1;
        }
        for (int i = start; i < messages.size(); i++) {
            Message m = messages.get(i);
            String content = (i == start && system != null)
                    ? "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + m.content()
                    : m.content();
            if (m.role() == Role.USER) {
                out.plain(tokens.bos() + "[INST] " + PyStrings.strip(content) + " [/INST]");
            } else if (m.role() == Role.ASSISTANT) {
                out.trained(" " + PyStrings.strip(content) + " " + tokens.eos());
            }
        }
    }

    /** ChatML as in teknium/OpenHermes-2.5-Mistral-7B. */
    private static void chatml(ChatBuilder out, List<Message> messages, boolean gen) {
        for (Message m : messages) {
            out.plain("<|im_start|>" + m.role().wireName() + "\n");
            if (m.role() == Role.ASSISTANT) {
                out.trained(m.content() + "<|im_end|>").plain("\n");
            } else {
                out.plain(m.content() + "<|im_end|>\n");
            }
        }
        if (gen) {
            out.plain("<|im_start|>assistant\n");
        }
    }

    /** meta-llama/Meta-Llama-3-8B-Instruct's chat_template. */
    private static void llama3(ChatBuilder out, List<Message> messages, boolean gen, SpecialTokens tokens) {
        for (int i = 0; i < messages.size(); i++) {
            Message m = messages.get(i);
            out.plain((i == 0 ? tokens.bos() : "") + "<|start_header_id|>" + m.role().wireName() + "<|end_header_id|>\n\n");
            String body = PyStrings.strip(m.content()) + "<|eot_id|>";
            if (m.role() == Role.ASSISTANT) {
                out.trained(body);
            } else {
                out.plain(body);
            }
        }
        if (gen) {
            out.plain("<|start_header_id|>assistant<|end_header_id|>\n\n");
        }
    }

    /** No markup: contents back to back, each answer closed by EOS. */
    private static void none(ChatBuilder out, List<Message> messages, SpecialTokens tokens) {
        for (Message m : messages) {
            if (m.role() == Role.ASSISTANT) {
                out.trained(m.content() + tokens.eos());
            } else {
                out.plain(m.content());
            }
        }
    }
}
