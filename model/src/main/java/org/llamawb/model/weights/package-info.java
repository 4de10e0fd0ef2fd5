/**
 * Checkpoint formats: safetensors (single and sharded, memory-mapped), llama2.c and GGUF, each mapped
 * to Hugging Face tensor names in exactly one class, behind {@link org.llamawb.model.weights.WeightSource}.
 */
package org.llamawb.model.weights;
