/**
 * Tokenizers: {@link org.llamawb.model.tokenizer.LlamaTokenizer} runs Hugging Face tokenizers from a
 * {@code tokenizer.json}. SentencePiece {@code tokenizer.model}, llama2.c {@code tokenizer.bin} and GGUF
 * vocabularies are read into a {@link org.llamawb.model.tokenizer.SpmVocabulary} and converted to an
 * equivalent {@code tokenizer.json} by {@link org.llamawb.model.tokenizer.LlamaTokenizerJson}; GGUF
 * byte-level BPE ({@code gpt2}) vocabularies become a {@link org.llamawb.model.tokenizer.ByteLevelBpe} and
 * its {@code tokenizer.json}. So there is one tokenizer implementation.
 */
package org.llamawb.model.tokenizer;
