package org.llamawb.finetune.recipe;

import java.util.List;
import java.util.Locale;
import org.llamawb.finetune.rl.GrpoLoss;
import org.llamawb.finetune.rl.LossAggregation;
import org.llamawb.finetune.rl.RewardScaling;
import org.llamawb.model.BadInputException;

/**
 * Group relative policy optimisation ({@code method: grpo}), with TRL's {@code GRPOConfig} names and defaults. The
 * rewards are the recipe's {@code rewards:} list; {@code train.micro_batch_size} counts completions, as TRL's
 * {@code per_device_train_batch_size} does, and one generation batch is one optimiser step's completions
 * ({@code micro_batch_size · gradient_accumulation_steps}, a multiple of {@code num_generations}).
 *
 * @param numGenerations G, completions sampled per prompt (≥ 2: the advantage compares them)
 * @param maxCompletionLength at most this many generated tokens per completion
 * @param temperature sampling temperature (&gt; 0)
 * @param topP nucleus sampling threshold within (0, 1]
 * @param topK keep the k most likely tokens (0 = all)
 * @param numIterations optimiser steps per generation batch (μ of the paper)
 * @param epsilon ε_low of the clipped ratio
 * @param epsilonHigh ε_high (absent: {@code epsilon}; DAPO suggests 0.28)
 * @param beta β of the KL penalty to the reference ({@code reference}); 0 skips the reference in training
 * @param lossType {@code dapo} (TRL's default), {@code bnpo}, {@code grpo} or {@code dr_grpo}
 * @param scaleRewards {@code group} (divide by the group's std), {@code batch} or {@code none}
 * @param answerField the field of each data record holding the reference answer that {@code exact_answer} checks
 * @param stopStrings texts that end a completion besides the stop tokens (e.g. a template's end marker)
 * @param reference the model the KL term measures the policy against: {@code base} (the base with the adapter
 *     disabled) or {@code adapter} (the SFT adapter of {@code adapter.init_from}, loaded a second time, frozen);
 *     absent: {@code adapter} when {@code adapter.init_from} is given, else {@code base} (see {@link Recipe})
 */
public record GrpoSection(Integer numGenerations, Integer maxCompletionLength, Double temperature, Double topP,
        Integer topK, Integer numIterations, Double epsilon, Double epsilonHigh, Double beta, String lossType,
        String scaleRewards, String answerField, List<String> stopStrings, String reference) {

    static GrpoSection defaults() {
        return new GrpoSection(null, null, null, null, null, null, null, null, null, null, null, null, null, null);
    }

    public GrpoSection {
        numGenerations = numGenerations == null ? 8 : numGenerations;
        maxCompletionLength = maxCompletionLength == null ? 256 : maxCompletionLength;
        temperature = temperature == null ? 1.0 : temperature;
        topP = topP == null ? 1.0 : topP;
        topK = topK == null ? 0 : topK;
        numIterations = numIterations == null ? 1 : numIterations;
        epsilon = epsilon == null ? 0.2 : epsilon;
        epsilonHigh = epsilonHigh == null ? epsilon : epsilonHigh;
        beta = beta == null ? 0.0 : beta;
        lossType = lossType == null ? "dapo" : lossType.toLowerCase(Locale.ROOT);
        scaleRewards = scaleRewards == null ? "group" : scaleRewards.toLowerCase(Locale.ROOT);
        answerField = answerField == null ? "answer" : answerField;
        stopStrings = stopStrings == null ? List.of() : List.copyOf(stopStrings);
        reference = Recipe.referenceKey("grpo.reference", reference);
        if (numGenerations < 2) {
            throw new BadInputException("grpo.num_generations must be >= 2 (advantages compare the completions of a "
                    + "prompt), got " + numGenerations);
        }
        if (maxCompletionLength < 1) {
            throw new BadInputException("grpo.max_completion_length must be >= 1, got " + maxCompletionLength);
        }
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new BadInputException("grpo.temperature must be a finite number > 0 (the completions of a group must "
                    + "differ), got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new BadInputException("grpo.top_p must be within (0, 1], got " + topP);
        }
        if (topK < 0) {
            throw new BadInputException("grpo.top_k must be >= 0 (0 = no limit), got " + topK);
        }
        if (numIterations < 1) {
            throw new BadInputException("grpo.num_iterations must be >= 1, got " + numIterations);
        }
        if (!(epsilon >= 0 && epsilon < 1)) {
            throw new BadInputException("grpo.epsilon must be within [0, 1), got " + epsilon);
        }
        if (!(epsilonHigh >= 0) || Double.isInfinite(epsilonHigh)) {
            throw new BadInputException("grpo.epsilon_high must be a finite number >= 0, got " + epsilonHigh);
        }
        if (!(beta >= 0) || Double.isInfinite(beta)) {
            throw new BadInputException("grpo.beta must be a finite number >= 0, got " + beta);
        }
        if (!List.of("dapo", "bnpo", "grpo", "dr_grpo").contains(lossType)) {
            throw new BadInputException("grpo.loss_type: unknown '" + lossType + "' (expected dapo, bnpo, grpo or dr_grpo)");
        }
        if (!List.of("group", "batch", "none").contains(scaleRewards)) {
            throw new BadInputException("grpo.scale_rewards: unknown '" + scaleRewards + "' (expected group, batch or none)");
        }
        if (answerField.isBlank()) {
            throw new BadInputException("grpo.answer_field must not be blank");
        }
        for (int i = 0; i < stopStrings.size(); i++) {
            if (stopStrings.get(i) == null || stopStrings.get(i).isEmpty()) {
                throw new BadInputException("grpo.stop_strings[" + i + "] must be a non-empty string");
            }
        }
    }

    /** These settings with the reference chosen (the default depends on {@code adapter.init_from}). */
    GrpoSection withReference(String reference) {
        return new GrpoSection(numGenerations, maxCompletionLength, temperature, topP, topK, numIterations, epsilon,
                epsilonHigh, beta, lossType, scaleRewards, answerField, stopStrings, reference);
    }

    /** Whether the reference is the frozen SFT adapter of {@code adapter.init_from}. */
    public boolean referenceIsAdapter() {
        return DpoSection.ADAPTER.equals(reference);
    }

    /** The loss settings of {@link GrpoLoss}. */
    public GrpoLoss.Settings lossSettings() {
        return new GrpoLoss.Settings(epsilon, epsilonHigh, beta, LossAggregation.valueOf(lossType.toUpperCase(Locale.ROOT)),
                maxCompletionLength);
    }

    /** {@code scale_rewards} as a closed set. */
    public RewardScaling rewardScaling() {
        return RewardScaling.valueOf(scaleRewards.toUpperCase(Locale.ROOT));
    }
}
