package org.llamawb.finetune.recipe;

import org.llamawb.model.BadInputException;

/**
 * The base model.
 *
 * @param path a Hugging Face directory, a llama2.c checkpoint or a GGUF file
 * @param tokenizer the tokenizer when it does not sit in the model directory (llama2.c {@code tokenizer.bin},
 *     SentencePiece {@code tokenizer.model}, {@code tokenizer.json})
 * @param attention {@code fused} (libtorch's memory-efficient kernel) or {@code explicit}
 */
public record ModelSection(String path, String tokenizer, String attention) {
    public ModelSection {
        if (path == null || path.isBlank()) {
            throw new BadInputException("model.path is required");
        }
        attention = attention == null ? "fused" : attention;
        if (!attention.equals("fused") && !attention.equals("explicit")) {
            throw new BadInputException("model.attention: expected fused or explicit, got '" + attention + "'");
        }
    }
}
