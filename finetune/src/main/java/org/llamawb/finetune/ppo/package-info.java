/**
 * PPO ({@code method: ppo}), the InstructGPT / ColossalChat recipe, with every role on one frozen base: the policy is
 * the run's LoRA adapter, the critic a second adapter with a value head, the reference the base with the adapters
 * disabled, and the reward the recipe's rule rewards. The mathematics (KL penalty, GAE, whitening, clipped losses,
 * adaptive KL) is in {@code finetune.rl}; rollouts are shared with GRPO ({@code finetune.online}).
 */
package org.llamawb.finetune.ppo;
