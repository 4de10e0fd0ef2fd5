package org.llamawb.finetune.recipe;

import java.util.Map;
import org.llamawb.model.BadInputException;

/**
 * The model a run starts from: a pretrained checkpoint, or (training from scratch) the shape of a
 * randomly initialised one.
 *
 * @param path a Hugging Face directory, a llama2.c checkpoint or a GGUF file
 * @param tokenizer the tokenizer when it does not sit with the model (llama2.c {@code tokenizer.bin},
 *     SentencePiece {@code tokenizer.model}, {@code tokenizer.json}); required with {@code init}
 * @param attention {@code fused} (libtorch's memory-efficient kernel) or {@code explicit}
 * @param init instead of {@code path}: {@code config.json} keys of a new model ({@code hidden_size},
 *     {@code intermediate_size}, {@code num_hidden_layers}, {@code num_attention_heads}, ...; the vocabulary
 *     and special tokens default to the tokenizer's), initialised with {@code train.seed}
 */
public record ModelSection(String path, String tokenizer, String attention, Map<String, Object> init) {
    public ModelSection {
        if ((path == null || path.isBlank()) == (init == null)) {
            throw new BadInputException("model: give exactly one of model.path (a checkpoint) and model.init (a new model's shape)");
        }
        if (init != null && (tokenizer == null || tokenizer.isBlank())) {
            throw new BadInputException("model.tokenizer is required with model.init (the new model needs a vocabulary)");
        }
        init = init == null ? null : Map.copyOf(init);
        attention = attention == null ? "fused" : attention;
        if (!attention.equals("fused") && !attention.equals("explicit")) {
            throw new BadInputException("model.attention: expected fused or explicit, got '" + attention + "'");
        }
    }
}
