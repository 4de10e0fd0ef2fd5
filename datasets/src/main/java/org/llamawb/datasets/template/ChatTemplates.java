package org.llamawb.datasets.template;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.llamawb.model.BadInputException;
import org.llamawb.model.LoadedModel;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * Chooses a chat template by the name a recipe ({@code data.template}) or the CLI ({@code --template})
 * gives: a built-in ({@link BuiltinTemplate#names()}), {@code model} for the model's own Jinja
 * {@code chat_template}, or the path of a {@code .jinja} file.
 */
public final class ChatTemplates {
    /** The name that selects the model's own template. */
    public static final String MODEL = "model";

    private ChatTemplates() {}

    /**
     * @param name the template name
     * @param tokens the tokenizer's BOS/EOS strings (used by built-ins and as Jinja context defaults)
     * @param modelDir the model or tokenizer location whose {@code tokenizer_config.json} holds the
     *     {@code chat_template}; may be null when {@code name} is not {@code model}
     */
    public static ChatTemplate resolve(String name, SpecialTokens tokens, Path modelDir) {
        var builtin = BuiltinTemplate.byName(name);
        if (builtin.isPresent()) {
            return builtin.get().with(tokens);
        }
        if (name.equals(MODEL)) {
            if (modelDir == null) {
                throw new BadInputException("template 'model' needs a model directory with a tokenizer_config.json");
            }
            TokenizerConfig config = TokenizerConfig.read(modelDir);
            String source = config.chatTemplate().orElseThrow(() -> new BadInputException(config.source()
                    + ": no chat_template; name a built-in template instead (one of " + BuiltinTemplate.names() + ")"));
            return new JinjaChatTemplate(config.source(), source, context(tokens, config.specialTokens()));
        }
        if (name.endsWith(".jinja")) {
            Path file = Path.of(name);
            try {
                Map<String, String> special = modelDir == null ? Map.of() : TokenizerConfig.read(modelDir).specialTokens();
                return new JinjaChatTemplate(name, Files.readString(file, StandardCharsets.UTF_8), context(tokens, special));
            } catch (IOException e) {
                throw new BadInputException(name + ": cannot read the chat template (" + e.getMessage() + ")");
            }
        }
        throw new BadInputException("unknown chat template '" + name + "'; expected one of " + BuiltinTemplate.names()
                + ", " + MODEL + " (the model's chat_template) or a .jinja file");
    }

    /**
     * The template {@code name} for an opened model: {@code model} reads the chat template where every command
     * reads it ({@link LoadedModel#templateSource()}), so training, evaluation, generation and chat agree.
     */
    public static ChatTemplate resolve(String name, LoadedModel model) {
        return resolve(name, model.tokenizer(), model.templateSource());
    }

    /**
     * As {@link #resolve(String, SpecialTokens, Path)} with the tokenizer's own BOS/EOS strings; for
     * {@code model}, a tokenizer without a {@code tokenizer_config.json} beside it (a GGUF file) gives its
     * embedded chat template.
     *
     * @param tokenizerLocation the model directory or tokenizer file the tokenizer was loaded from
     */
    public static ChatTemplate resolve(String name, LlamaTokenizer tokenizer, Path tokenizerLocation) {
        SpecialTokens tokens = SpecialTokens.of(tokenizer);
        if (name.equals(MODEL) && tokenizer.chatTemplate().isPresent()) {
            TokenizerConfig config = tokenizerLocation == null ? null : TokenizerConfig.read(tokenizerLocation);
            if (config == null || config.chatTemplate().isEmpty()) {
                return new JinjaChatTemplate(tokenizerLocation + " (chat_template)", tokenizer.chatTemplate().get(),
                        context(tokens, config == null ? Map.of() : config.specialTokens()));
            }
        }
        return resolve(name, tokens, tokenizerLocation);
    }

    /**
     * Whether {@code model} finds a template for this tokenizer: a {@code chat_template} in the folder of
     * {@code source} (see {@link #resolve(String, LlamaTokenizer, Path)}) or one the tokenizer carries.
     */
    public static boolean hasModelTemplate(LlamaTokenizer tokenizer, Path source) {
        return tokenizer.chatTemplate().isPresent() || (source != null && TokenizerConfig.read(source).chatTemplate().isPresent());
    }

    private static Map<String, String> context(SpecialTokens tokens, Map<String, String> fromConfig) {
        Map<String, String> ctx = new HashMap<>();
        ctx.put("bos_token", tokens.bos());
        ctx.put("eos_token", tokens.eos());
        ctx.putAll(fromConfig);
        return ctx;
    }
}
