package org.llamawb.finetune.train;

import java.io.PrintStream;
import java.util.Set;
import org.llamawb.adapters.LoraModel;
import org.llamawb.datasets.template.ChatTemplate;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.model.Llama;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * What the trainer has set up when it builds a method: the model (with its adapter, if any), tokenizer,
 * chat template and the recipe.
 *
 * @param lora the adapters, or null for full fine-tuning
 * @param adapterName the trained adapter's name (with {@code lora})
 * @param out progress and report lines
 * @param endTokens the ids that end an answer: the model's generation stop ids, EOS and the token that closes an
 *     answer in the chat template (where online methods stop sampling)
 */
public record MethodContext(Recipe recipe, Llama model, LlamaTokenizer tokenizer, ChatTemplate template, LoraModel lora,
        String adapterName, PrintStream out, Set<Integer> endTokens) {

    /** The id that pads batches (the tokenizer's end of sequence, or 0). */
    public int padId() {
        return Math.max(0, tokenizer.eosId());
    }
}
