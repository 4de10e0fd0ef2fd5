package org.llamawb.finetune.recipe;

import java.util.Locale;
import org.llamawb.model.BadInputException;

/**
 * Direct preference optimisation ({@code method: dpo}), with TRL's {@code DPOConfig} names and defaults.
 *
 * @param beta β: the strength of the implicit KL penalty towards the reference
 * @param lossType {@code sigmoid} (DPO), {@code robust}, {@code ipo} or {@code hinge}
 * @param labelSmoothing ε, the assumed probability that a label is flipped (sigmoid: conservative DPO;
 *     robust: robust DPO)
 * @param precomputeRefLogProbs compute the reference log-probabilities of every training pair once, before
 *     training, instead of a reference forward pass in every step
 * @param reference the reference model: {@code base} (the policy's adapter switched off) or {@code adapter}
 *     (the SFT adapter of {@code adapter.init_from}, loaded a second time, frozen, beside the policy's copy);
 *     absent: {@code adapter} when {@code adapter.init_from} is given, else {@code base} (see {@link Recipe})
 */
public record DpoSection(Double beta, String lossType, Double labelSmoothing, Boolean precomputeRefLogProbs,
        String reference) {

    /** The values {@code dpo.reference} takes. */
    public static final String BASE = "base";
    public static final String ADAPTER = "adapter";
    /** The name the frozen reference adapter is loaded under (the trained adapter's {@code adapter.name} differs). */
    public static final String REFERENCE_ADAPTER = "reference";

    static DpoSection defaults() {
        return new DpoSection(null, null, null, null, null);
    }

    public DpoSection {
        beta = beta == null ? 0.1 : beta;
        lossType = lossType == null ? "sigmoid" : lossType.toLowerCase(Locale.ROOT);
        labelSmoothing = labelSmoothing == null ? 0.0 : labelSmoothing;
        precomputeRefLogProbs = precomputeRefLogProbs != null && precomputeRefLogProbs;
        if (!(beta > 0)) {
            throw new BadInputException("dpo.beta must be > 0, got " + beta);
        }
        if (!(labelSmoothing >= 0 && labelSmoothing < 0.5)) {
            throw new BadInputException("dpo.label_smoothing must be within [0, 0.5), got " + labelSmoothing);
        }
        if (!java.util.List.of("sigmoid", "robust", "ipo", "hinge").contains(lossType)) {
            throw new BadInputException("dpo.loss_type: unknown loss '" + lossType + "' (expected sigmoid, robust, ipo or hinge)");
        }
        if (labelSmoothing > 0 && !lossType.equals("sigmoid") && !lossType.equals("robust")) {
            throw new BadInputException("dpo.label_smoothing applies to loss_type sigmoid and robust only (got " + lossType + ")");
        }
        reference = Recipe.referenceKey("dpo.reference", reference);
    }

    /** These settings with the reference chosen (the default depends on {@code adapter.init_from}). */
    DpoSection withReference(String reference) {
        return new DpoSection(beta, lossType, labelSmoothing, precomputeRefLogProbs, reference);
    }

    /** Whether the reference is the frozen SFT adapter of {@code adapter.init_from}. */
    public boolean referenceIsAdapter() {
        return ADAPTER.equals(reference);
    }
}
