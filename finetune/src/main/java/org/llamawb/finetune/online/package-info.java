/**
 * What the online methods ({@code method: grpo}, {@code method: ppo}) share: prompts in a resumable order, completions
 * sampled with the KV cache from the policy, scored by the recipe's rule rewards, and per-token log-probabilities of
 * the policy or of the reference (the base with its adapters disabled, so one copy of the weights is held), and the
 * stream that maps a data position to a rollout batch and serves that batch's updates ({@link RolloutBatches}).
 */
package org.llamawb.finetune.online;
