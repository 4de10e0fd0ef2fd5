/**
 * Text generation with the KV cache: {@link org.llamawb.model.generate.Sampling} settings (greedy,
 * temperature, top-k, top-p, seed), the {@link org.llamawb.model.generate.Sampler} that applies them
 * to one logit vector, and the {@link org.llamawb.model.generate.Generator} loop.
 */
package org.llamawb.model.generate;
