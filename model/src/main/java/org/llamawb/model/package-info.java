/**
 * The LLaMA architecture on DJL, in the order of the paper: {@link org.llamawb.model.RmsNorm},
 * rotary embeddings ({@link org.llamawb.model.Rope}), grouped-query causal attention, the SwiGLU
 * feed-forward, the pre-norm block and the {@link org.llamawb.model.Llama} model with its LM head.
 *
 * <p>Tensors keep their Hugging Face names ({@code model.layers.0.self_attn.q_proj.weight});
 * configuration is bound from {@code config.json} into {@link org.llamawb.model.LlamaConfig}.
 */
package org.llamawb.model;
