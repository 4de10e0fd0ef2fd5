package org.llamawb.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.llamawb.model.TestData;

/**
 * stories260K with two chat templates: one in the model's folder (beside its llama2.c {@code tok512.bin}) and
 * another in the folder of a tokenizer named explicitly ({@code --tokenizer}, {@code model.tokenizer}): the
 * same vocabulary as SentencePiece {@code tokenizer.model} with its own {@code tokenizer_config.json}. Until
 * one opener, training read the first and evaluation and chat the second.
 *
 * @param model the llama2.c checkpoint
 * @param tokenizer the folder of the named tokenizer
 */
public record NamedTokenizerFixture(Path model, Path tokenizer) {
    /** Marks each turn of the model folder's template. */
    public static final String MODEL_FOLDER_MARK = "<<";
    /** Marks each turn of the named tokenizer's template. */
    public static final String TOKENIZER_MARK = "[[";

    public static NamedTokenizerFixture create(Path tmp) throws IOException {
        Path modelDir = Files.createDirectories(tmp.resolve("model"));
        Path model = Files.copy(TestData.require("models/stories260K/stories260K.bin"), modelDir.resolve("stories260K.bin"));
        Files.copy(TestData.require("models/stories260K/tok512.bin"), modelDir.resolve("tok512.bin"));
        Files.writeString(modelDir.resolve("tokenizer_config.json"), config(MODEL_FOLDER_MARK));
        Path tokDir = Files.createDirectories(tmp.resolve("tokenizer"));
        Files.copy(TestData.require("models/stories260K/tok512.model"), tokDir.resolve("tokenizer.model"));
        Files.writeString(tokDir.resolve("tokenizer_config.json"), config(TOKENIZER_MARK));
        return new NamedTokenizerFixture(model.toAbsolutePath(), tokDir.toAbsolutePath());
    }

    private static String config(String mark) {
        String template = "{% for m in messages %}" + mark + "{{ m['role'] }}: {{ m['content'] }}"
                + "{% if m['role'] == 'assistant' %}{{ eos_token }}{% endif %}{% endfor %}"
                + "{% if add_generation_prompt %}" + mark + "assistant: {% endif %}";
        return "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"chat_template\": \"" + template.replace("\"", "\\\"") + "\"}";
    }
}
