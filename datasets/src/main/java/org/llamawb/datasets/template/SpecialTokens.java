package org.llamawb.datasets.template;

import java.util.Objects;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * The special-token strings a template writes: {@code bos_token} and {@code eos_token} of Hugging Face's
 * template context ({@code <s>} and {@code </s>} for LLaMA/Llama-2; {@code <|begin_of_text|>} and
 * {@code <|eot_id|>} or {@code <|end_of_text|>} for Llama-3).
 */
public record SpecialTokens(String bos, String eos) {
    public static final SpecialTokens LLAMA = new SpecialTokens("<s>", "</s>");
    public static final SpecialTokens LLAMA_3 = new SpecialTokens("<|begin_of_text|>", "<|eot_id|>");

    public SpecialTokens {
        Objects.requireNonNull(bos, "bos");
        Objects.requireNonNull(eos, "eos");
    }

    /** The tokenizer's own BOS and EOS pieces (LLaMA's {@code <s>}/{@code </s>} when it has none). */
    public static SpecialTokens of(LlamaTokenizer tokenizer) {
        String bos = tokenizer.bosId() >= 0 ? tokenizer.piece(tokenizer.bosId()) : LLAMA.bos();
        String eos = tokenizer.eosId() >= 0 ? tokenizer.piece(tokenizer.eosId()) : LLAMA.eos();
        return new SpecialTokens(bos, eos);
    }
}
