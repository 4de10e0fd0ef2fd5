package org.llamawb.model;

import ai.djl.ndarray.NDArray;

/**
 * What every layer needs to know about one forward pass, computed once by {@link Llama}.
 *
 * @param rope cos and signed-sin tables for the positions of this pass (see {@link Rope#tables})
 * @param mask boolean attention mask {@code [B or 1, 1, T, S]} (true = may attend) or null when plain
 *     causal attention (or, for a single decoded token, attention to every cached position) suffices
 * @param causal whether the pass is a causal self-attention over its own T tokens with no cache before it
 * @param grad whether autograd is recording (the pass runs inside a gradient collector)
 * @param cache the key/value cache to read and extend, or null
 */
public record ForwardContext(NDArray[] rope, NDArray mask, boolean causal, boolean grad, KvCache cache) {}
