package org.llamawb.finetune.recipe;

import java.util.List;
import java.util.Locale;
import org.llamawb.finetune.rl.AdaptiveKlController;
import org.llamawb.finetune.rl.KlEstimator;
import org.llamawb.model.BadInputException;

/**
 * Proximal policy optimisation with a critic ({@code method: ppo}), with the names and defaults of TRL's
 * {@code PPOConfig}. The rewards are the recipe's {@code rewards:} list. One rollout batch is
 * {@code train.micro_batch_size · train.gradient_accumulation_steps · num_mini_batches} prompts, one completion each;
 * it serves {@code num_ppo_epochs · num_mini_batches} optimiser steps of {@code micro_batch_size ·
 * gradient_accumulation_steps} completions.
 *
 * @param numPpoEpochs passes over each rollout batch
 * @param numMiniBatches optimiser steps per pass over a rollout batch
 * @param responseLength at most this many generated tokens per completion
 * @param temperature sampling temperature (&gt; 0); the log-probabilities divide the logits by it, as TRL
 * @param stopStrings texts that end a completion besides the stop tokens
 * @param klCoef β of the per-token KL penalty to the reference ({@code reference}); the starting value when
 *     {@code kl_target} is set
 * @param klEstimator {@code k1} (TRL's default) or {@code k3}
 * @param klTarget absent: β stays {@code kl_coef}; set: the adaptive controller steers the rollout KL (per-completion
 *     sum) towards it
 * @param klHorizon the adaptive controller's horizon in episodes
 * @param cliprange ε of the clipped policy ratio
 * @param vfCoef weight of the value loss
 * @param cliprangeValue ε_v of the clipped value prediction
 * @param gamma discount γ
 * @param lam GAE's λ
 * @param whitenRewards whiten the per-token rewards before GAE
 * @param missingEosPenalty subtracted from the score of a completion that reached {@code response_length} without
 *     ending (absent: none)
 * @param answerField the field of each data record holding the reference answer that {@code exact_answer} checks
 * @param evalCompletions completions sampled per held-out prompt when evaluating (more give a steadier
 *     {@code eval_reward}; not a TRL setting: its PPOTrainer samples one)
 * @param reference the model the KL penalty measures the policy against: {@code base} (the base with the adapters
 *     disabled) or {@code adapter} (the SFT adapter of {@code adapter.init_from}, loaded a second time, frozen: the
 *     KL to the SFT model of InstructGPT and ColossalChat); absent: {@code adapter} when {@code adapter.init_from} is
 *     given, else {@code base} (see {@link Recipe})
 */
public record PpoSection(Integer numPpoEpochs, Integer numMiniBatches, Integer responseLength, Double temperature,
        List<String> stopStrings, Double klCoef, String klEstimator, Double klTarget, Double klHorizon, Double cliprange,
        Double vfCoef, Double cliprangeValue, Double gamma, Double lam, Boolean whitenRewards, Double missingEosPenalty,
        String answerField, Integer evalCompletions, String reference) {

    static PpoSection defaults() {
        return new PpoSection(null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
                null, null, null, null);
    }

    public PpoSection {
        numPpoEpochs = numPpoEpochs == null ? 4 : numPpoEpochs;
        numMiniBatches = numMiniBatches == null ? 1 : numMiniBatches;
        responseLength = responseLength == null ? 53 : responseLength;
        temperature = temperature == null ? 0.7 : temperature;
        stopStrings = stopStrings == null ? List.of() : List.copyOf(stopStrings);
        klCoef = klCoef == null ? 0.05 : klCoef;
        klEstimator = klEstimator == null ? "k1" : klEstimator.toLowerCase(Locale.ROOT);
        klHorizon = klHorizon == null ? 10000.0 : klHorizon;
        cliprange = cliprange == null ? 0.2 : cliprange;
        vfCoef = vfCoef == null ? 0.1 : vfCoef;
        cliprangeValue = cliprangeValue == null ? 0.2 : cliprangeValue;
        gamma = gamma == null ? 1.0 : gamma;
        lam = lam == null ? 0.95 : lam;
        whitenRewards = whitenRewards != null && whitenRewards;
        answerField = answerField == null ? "answer" : answerField;
        evalCompletions = evalCompletions == null ? 1 : evalCompletions;
        reference = Recipe.referenceKey("ppo.reference", reference);
        positive("ppo.num_ppo_epochs", numPpoEpochs);
        positive("ppo.num_mini_batches", numMiniBatches);
        positive("ppo.response_length", responseLength);
        positive("ppo.eval_completions", evalCompletions);
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new BadInputException("ppo.temperature must be a finite number > 0, got " + temperature);
        }
        for (int i = 0; i < stopStrings.size(); i++) {
            if (stopStrings.get(i) == null || stopStrings.get(i).isEmpty()) {
                throw new BadInputException("ppo.stop_strings[" + i + "] must be a non-empty string");
            }
        }
        nonNegative("ppo.kl_coef", klCoef);
        if (!List.of("k1", "k3").contains(klEstimator)) {
            throw new BadInputException("ppo.kl_estimator: unknown '" + klEstimator + "' (expected k1 or k3)");
        }
        if (klTarget != null && (!(klTarget > 0) || Double.isInfinite(klTarget))) {
            throw new BadInputException("ppo.kl_target must be a finite number > 0 (absent: a fixed kl_coef), got "
                    + klTarget);
        }
        if (klTarget != null && klCoef == 0) {
            throw new BadInputException("ppo.kl_target needs ppo.kl_coef > 0 (the adaptive controller scales it)");
        }
        if (!(klHorizon > 0) || Double.isInfinite(klHorizon)) {
            throw new BadInputException("ppo.kl_horizon must be a finite number > 0, got " + klHorizon);
        }
        if (!(cliprange >= 0 && cliprange < 1)) {
            throw new BadInputException("ppo.cliprange must be within [0, 1), got " + cliprange);
        }
        nonNegative("ppo.vf_coef", vfCoef);
        nonNegative("ppo.cliprange_value", cliprangeValue);
        if (!(gamma >= 0 && gamma <= 1)) {
            throw new BadInputException("ppo.gamma must be within [0, 1], got " + gamma);
        }
        if (!(lam >= 0 && lam <= 1)) {
            throw new BadInputException("ppo.lam must be within [0, 1], got " + lam);
        }
        if (missingEosPenalty != null) {
            nonNegative("ppo.missing_eos_penalty", missingEosPenalty);
        }
        if (answerField.isBlank()) {
            throw new BadInputException("ppo.answer_field must not be blank");
        }
    }

    private static void positive(String key, int v) {
        if (v < 1) {
            throw new BadInputException(key + " must be >= 1, got " + v);
        }
    }

    private static void nonNegative(String key, double v) {
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw new BadInputException(key + " must be a finite number >= 0, got " + v);
        }
    }

    /** These settings with the reference chosen (the default depends on {@code adapter.init_from}). */
    PpoSection withReference(String reference) {
        return new PpoSection(numPpoEpochs, numMiniBatches, responseLength, temperature, stopStrings, klCoef, klEstimator,
                klTarget, klHorizon, cliprange, vfCoef, cliprangeValue, gamma, lam, whitenRewards, missingEosPenalty,
                answerField, evalCompletions, reference);
    }

    /** Whether the reference is the frozen SFT adapter of {@code adapter.init_from}. */
    public boolean referenceIsAdapter() {
        return DpoSection.ADAPTER.equals(reference);
    }

    /** Optimiser steps one rollout batch serves. */
    public int stepsPerRollout() {
        return numPpoEpochs * numMiniBatches;
    }

    /** {@code kl_estimator} as a closed set. */
    public KlEstimator estimator() {
        return KlEstimator.valueOf(klEstimator.toUpperCase(Locale.ROOT));
    }

    /** The KL controller at the start of training: adaptive with {@code kl_target}, else null (β fixed). */
    public AdaptiveKlController initialController() {
        return klTarget == null ? null : new AdaptiveKlController(klCoef, klTarget, klHorizon);
    }
}
