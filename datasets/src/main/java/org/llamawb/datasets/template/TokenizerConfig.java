package org.llamawb.datasets.template;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.llamawb.model.BadInputException;

/**
 * What a Hugging Face model directory says about chat formatting: the Jinja {@code chat_template} (from
 * {@code tokenizer_config.json}, as a string or as the list of named templates whose {@code default} is
 * used, or from transformers v5's separate {@code chat_template.jinja}) and the special-token strings the
 * template context names ({@code bos_token}, {@code eos_token}, {@code unk_token}, {@code pad_token}),
 * each written either as a string or as an added-token object with {@code content}.
 *
 * @param source the file the values came from (for messages)
 * @param chatTemplate the Jinja source, if any
 * @param specialTokens template-context name to token string
 */
public record TokenizerConfig(String source, Optional<String> chatTemplate, Map<String, String> specialTokens) {
    private static final String[] SPECIAL_KEYS = {"bos_token", "eos_token", "unk_token", "pad_token"};

    public TokenizerConfig {
        specialTokens = Map.copyOf(specialTokens);
    }

    /**
     * Reads {@code tokenizer_config.json} (and {@code chat_template.jinja} beside it) from a model directory,
     * or from the directory of a tokenizer file; a missing config gives an empty one.
     */
    public static TokenizerConfig read(Path modelDirOrFile) {
        Path dir = Files.isDirectory(modelDirOrFile) ? modelDirOrFile : modelDirOrFile.toAbsolutePath().getParent();
        Path config = dir.resolve("tokenizer_config.json");
        Path jinja = dir.resolve("chat_template.jinja");
        Map<String, String> special = new HashMap<>();
        String template = null;
        String source = config.toString();
        if (Files.isRegularFile(config)) {
            JsonNode root;
            try {
                root = new ObjectMapper().readTree(config.toFile());
            } catch (IOException e) {
                throw new BadInputException(config + ": not valid JSON ("
                        + e.getMessage().lines().findFirst().orElse("") + ")");
            }
            if (root == null || !root.isObject()) {
                throw new BadInputException(config + ": expected a JSON object");
            }
            for (String key : SPECIAL_KEYS) {
                JsonNode v = root.get(key);
                if (v != null && v.isTextual()) {
                    special.put(key, v.asText());
                } else if (v != null && v.isObject() && v.path("content").isTextual()) {
                    special.put(key, v.path("content").asText());
                }
            }
            template = chatTemplateOf(root.get("chat_template"), config);
        }
        if (template == null && Files.isRegularFile(jinja)) {
            try {
                template = Files.readString(jinja, StandardCharsets.UTF_8);
                source = jinja.toString();
            } catch (IOException e) {
                throw new BadInputException(jinja + ": cannot read (" + e.getMessage() + ")");
            }
        }
        return new TokenizerConfig(source, Optional.ofNullable(template), special);
    }

    private static String chatTemplateOf(JsonNode node, Path file) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            return node.asText();
        }
        if (node.isArray()) {
            for (JsonNode named : node) {
                if ("default".equals(named.path("name").asText()) && named.path("template").isTextual()) {
                    return named.path("template").asText();
                }
            }
            throw new BadInputException(file + ": chat_template is a list without a template named 'default'");
        }
        throw new BadInputException(file + ": chat_template must be a string or a list of {name, template}");
    }
}
