/**
 * The mathematics of reinforcement learning from feedback, as pure functions: PPO's KL-shaped rewards, GAE
 * and whitening ({@link PpoTargets}, {@link Gae}, {@link Whitening}), its clipped policy and value losses
 * ({@link PpoLoss}) and adaptive KL coefficient ({@link AdaptiveKlController}); GRPO's group-normalised
 * advantages ({@link GroupAdvantages}) and clipped-ratio loss ({@link GrpoLoss}); and the declarative rule
 * rewards a recipe lists ({@link RuleReward}, {@link RuleRewards}) with the reference answers they check against
 * ({@link ReferenceAnswers}).
 *
 * <p>Each function follows TRL (the last {@code PPOTrainer}, and {@code GRPOTrainer} of TRL 1.16) and is
 * checked against numbers from {@code scripts/reference/make_rl_fixtures.py}. Quantities computed once per
 * rollout without gradients live on the host in {@code double}; the losses are DJL arrays so gradients flow.
 * Nothing here knows about models, rollouts or the training loop.
 */
package org.llamawb.finetune.rl;
