/**
 * GRPO ({@code method: grpo}) through the trainer: rollouts sampled with the KV cache from the policy (the base with
 * its LoRA adapter), scored by the recipe's rule rewards, group-normalised advantages, and the clipped-ratio loss
 * with a KL penalty to the reference (the same base with the adapter disabled, so one copy of the weights is held).
 * The mathematics is in {@code finetune.rl}; this package feeds it rollouts and turns it into optimiser steps.
 */
package org.llamawb.finetune.grpo;
