/**
 * Training: one visible loop per method ({@link org.llamawb.finetune.sft.SftTrainer} for supervised
 * fine-tuning, with LoRA or every parameter trainable), the optimiser and schedules, the causal-LM
 * loss, checkpoints and exact resume, and recipes that configure all of it.
 */
package org.llamawb.finetune;
