/**
 * Reward modelling ({@code method: reward}): LoRA and a scalar {@code score} head trained on preference
 * pairs with the pairwise Bradley–Terry loss, saved as a PEFT {@code SEQ_CLS} adapter that
 * {@code workbench eval --reward-model} and {@link org.llamawb.adapters.score.RewardModel#load} read.
 */
package org.llamawb.finetune.reward;
