/**
 * GGUF, llama.cpp's single-file model format: {@link org.llamawb.model.gguf.GgufFile} reads it
 * (memory-mapped, every length bounds-checked), {@link org.llamawb.model.gguf.GgufWeights} presents its
 * tensors under Hugging Face names as float32, {@link org.llamawb.model.gguf.GgufWriter} and
 * {@link org.llamawb.model.gguf.LlamaGgufExporter} write it back.
 */
package org.llamawb.model.gguf;
