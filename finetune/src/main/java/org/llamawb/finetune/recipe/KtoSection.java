package org.llamawb.finetune.recipe;

import org.llamawb.model.BadInputException;

/**
 * Kahneman-Tversky optimisation ({@code method: kto}), with TRL's {@code KTOConfig} names and defaults.
 *
 * @param beta β: the strength of the implicit KL penalty towards the reference (the base, adapter off)
 * @param desirableWeight weight of the desirable examples' losses
 * @param undesirableWeight weight of the undesirable examples' losses (TRL suggests weights such that
 *     {@code desirable_weight · n_desirable / (undesirable_weight · n_undesirable)} lies in [1, 4/3])
 */
public record KtoSection(Double beta, Double desirableWeight, Double undesirableWeight) {

    static KtoSection defaults() {
        return new KtoSection(null, null, null);
    }

    public KtoSection {
        beta = beta == null ? 0.1 : beta;
        desirableWeight = desirableWeight == null ? 1.0 : desirableWeight;
        undesirableWeight = undesirableWeight == null ? 1.0 : undesirableWeight;
        if (!(beta > 0)) {
            throw new BadInputException("kto.beta must be > 0, got " + beta);
        }
        if (!(desirableWeight > 0) || !(undesirableWeight > 0)) {
            throw new BadInputException("kto.desirable_weight and kto.undesirable_weight must be > 0");
        }
    }
}
