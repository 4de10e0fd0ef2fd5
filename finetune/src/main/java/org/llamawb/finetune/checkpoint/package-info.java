/**
 * Checkpoints and exact resume: each checkpoint directory holds the trained tensors (a PEFT adapter or
 * the full model's trainable tensors), the optimiser moments, the trainer state (step, data position,
 * loss history, counters) and the resolved recipe; it is written under a temporary name and renamed,
 * so a crash never leaves a half-written checkpoint.
 */
package org.llamawb.finetune.checkpoint;
