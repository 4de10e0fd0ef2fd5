package org.llamawb.finetune.rl;

/**
 * How GRPO turns per-token losses {@code ℓ_it} (mask {@code m_it}) into one number (TRL's {@code loss_type}):
 * <ul>
 *   <li>{@link #DAPO} (TRL 1.16's default): {@code Σ m·ℓ / (active tokens of the whole generation batch)}, so
 *       every token weighs the same however the batch is split into micro-batches;
 *   <li>{@link #BNPO}: {@code Σ m·ℓ / Σ m} over the micro-batch;
 *   <li>{@link #GRPO}: {@code mean_i (Σ_t m·ℓ / Σ_t m)}, the paper's per-sequence mean (length-biased);
 *   <li>{@link #DR_GRPO}: {@code Σ m·ℓ / (N · max_completion_length)}.
 * </ul>
 */
public enum LossAggregation {
    DAPO,
    BNPO,
    GRPO,
    DR_GRPO
}
