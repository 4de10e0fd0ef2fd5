package org.llamawb.cli;

import java.nio.file.Path;
import java.util.List;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.template.ChatTemplates;
import org.llamawb.datasets.tokenize.EncodeOptions;
import org.llamawb.datasets.tokenize.ExampleEncoder;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * Turns a command-line prompt into token ids: raw text, with BOS first only when the tokenizer adds it by
 * default (as Hugging Face's {@code tokenizer(prompt)} and {@code workbench eval} do), or one user turn in a
 * chat template.
 */
final class PromptRendering {
    private PromptRendering() {}

    /**
     * @param template a built-in template name, {@code model} (the model's own chat_template) or a
     *     {@code .jinja} file; null for the raw prompt
     * @param modelLocation where {@code model} reads the chat template ({@link org.llamawb.model.LoadedModel#templateSource()})
     */
    static int[] encode(LlamaTokenizer tokenizer, String prompt, String template, Path modelLocation) {
        if (template == null) {
            return raw(tokenizer, prompt);
        }
        var chat = ChatTemplates.resolve(template, tokenizer, modelLocation);
        return new ExampleEncoder(tokenizer, chat, EncodeOptions.of(1 << 20)).promptIds(List.of(Message.user(prompt)));
    }

    /**
     * A raw prompt: BOS first when the tokenizer adds it by default and the text does not already start
     * with it. An empty prompt starts from BOS whenever the vocabulary has one: something must condition
     * the first token.
     */
    static int[] raw(LlamaTokenizer tokenizer, String prompt) {
        int bos = tokenizer.bosId();
        boolean written = bos >= 0 && prompt.startsWith(tokenizer.piece(bos));
        boolean addBos = bos >= 0 && !written && (tokenizer.addsBosByDefault() || prompt.isEmpty());
        int[] ids = tokenizer.encode(prompt, addBos);
        if (ids.length == 0) {
            throw new UsageException("--prompt is empty and the tokenizer has no BOS token to start from; give a prompt");
        }
        return ids;
    }
}
