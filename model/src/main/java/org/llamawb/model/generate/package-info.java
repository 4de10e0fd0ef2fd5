/**
 * Text generation with the KV cache: {@link org.llamawb.model.generate.Sampling} settings (greedy,
 * temperature, top-k, top-p, seed), the {@link org.llamawb.model.generate.Sampler} that applies them
 * to one logit vector, the {@link org.llamawb.model.generate.Generator} loop, and the
 * {@link org.llamawb.model.generate.GenerationSession} that keeps its cache across a chat's turns.
 */
package org.llamawb.model.generate;
