package org.llamawb.finetune.rl;

/**
 * How GRPO divides centred rewards (TRL's {@code scale_rewards}): by the standard deviation of each prompt's
 * group ({@link #GROUP}, DeepSeekMath), of the whole batch ({@link #BATCH}), or not at all ({@link #NONE}, Dr.
 * GRPO: no question-difficulty bias). The mean subtracted is always the group's.
 */
public enum RewardScaling {
    GROUP,
    BATCH,
    NONE
}
