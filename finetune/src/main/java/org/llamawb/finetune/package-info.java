/**
 * Training: one trainer ({@link org.llamawb.finetune.train.Trainer}) that every method uses (supervised
 * fine-tuning and DPO, with LoRA or, for SFT, every parameter trainable), the optimiser and schedules,
 * the causal-LM loss, checkpoints and exact resume, and recipes that configure all of it.
 */
package org.llamawb.finetune;
