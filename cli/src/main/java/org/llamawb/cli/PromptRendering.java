package org.llamawb.cli;

import java.nio.file.Path;
import java.util.List;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.template.ChatTemplates;
import org.llamawb.datasets.tokenize.EncodeOptions;
import org.llamawb.datasets.tokenize.ExampleEncoder;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/** Turns a command-line prompt into token ids: raw text after BOS, or one user turn in a chat template. */
final class PromptRendering {
    private PromptRendering() {}

    /**
     * @param template a built-in template name, {@code model} (the model's own chat_template) or a
     *     {@code .jinja} file; null for the raw prompt
     * @param modelLocation where the model's {@code tokenizer_config.json} lives (for {@code model})
     */
    static int[] encode(LlamaTokenizer tokenizer, String prompt, String template, Path modelLocation) {
        if (template == null) {
            return tokenizer.encode(prompt, true);
        }
        var chat = ChatTemplates.resolve(template, tokenizer, modelLocation);
        return new ExampleEncoder(tokenizer, chat, EncodeOptions.of(1 << 20)).promptIds(List.of(Message.user(prompt)));
    }
}
