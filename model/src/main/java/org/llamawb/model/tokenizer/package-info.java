/**
 * Tokenizers: {@link org.llamawb.model.tokenizer.LlamaTokenizer} runs Hugging Face tokenizers from a
 * {@code tokenizer.json}; other vocabularies are converted to that form first.
 */
package org.llamawb.model.tokenizer;
