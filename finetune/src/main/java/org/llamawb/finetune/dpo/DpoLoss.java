package org.llamawb.finetune.dpo;

import org.llamawb.finetune.recipe.DpoSection;

/**
 * The DPO losses of one pair as TRL's {@code DPOTrainer.dpo_loss} defines them, as pure functions of
 * the log-ratio difference
 *
 * <pre>z = (log π(y_c|x) − log π(y_r|x)) − (log π_ref(y_c|x) − log π_ref(y_r|x))</pre>
 *
 * <ul>
 *   <li>{@code sigmoid} (DPO, conservative DPO with label smoothing ε):
 *       {@code L = −(1−ε)·log σ(β z) − ε·log σ(−β z)}</li>
 *   <li>{@code robust} (robust DPO, TRL 1.x): {@code L = (−(1−ε)·log σ(β z) + ε·log σ(−β z)) / (1 − 2ε)}</li>
 *   <li>{@code hinge} (RSO): {@code L = max(0, 1 − β z)}</li>
 *   <li>{@code ipo}: {@code L = (z − 1/(2β))²}, where the log-probabilities are averaged over the
 *       answer's tokens, not summed (TRL does so for ipo)</li>
 * </ul>
 *
 * The implicit rewards are {@code r_c = β·(log π(y_c|x) − log π_ref(y_c|x))} and likewise {@code r_r}.
 * The derivative {@code dL/dz} is what the backward pass injects: {@code +dL/dz} into the chosen
 * log-probability, {@code −dL/dz} into the rejected one.
 *
 * <p>TRL 1.x's {@code sigmoid} ignores {@code label_smoothing}; here it gives conservative DPO, the form
 * TRL 0.x's {@code dpo_loss} used, which equals TRL 1.x's {@code sigmoid} when ε = 0.
 *
 * @param type {@code sigmoid}, {@code robust}, {@code ipo} or {@code hinge}
 */
public record DpoLoss(String type, double beta, double labelSmoothing) {

    public static DpoLoss of(DpoSection s) {
        return new DpoLoss(s.lossType(), s.beta(), s.labelSmoothing());
    }

    /** Whether log-probabilities are averaged over the answer's tokens (ipo) rather than summed. */
    public boolean averagesLogProbs() {
        return type.equals("ipo");
    }

    /** The log-ratio difference {@code z} of one pair. */
    public static double logits(double policyChosen, double policyRejected, double refChosen, double refRejected) {
        return (policyChosen - policyRejected) - (refChosen - refRejected);
    }

    /** {@code L(z)} as the class comment gives it. */
    public double loss(double z) {
        return switch (type) {
            case "sigmoid" -> -(1 - labelSmoothing) * logSigmoid(beta * z) - labelSmoothing * logSigmoid(-beta * z);
            case "robust" -> (-(1 - labelSmoothing) * logSigmoid(beta * z) + labelSmoothing * logSigmoid(-beta * z))
                    / (1 - 2 * labelSmoothing);
            case "hinge" -> Math.max(0, 1 - beta * z);
            case "ipo" -> (z - 1 / (2 * beta)) * (z - 1 / (2 * beta));
            default -> throw new IllegalStateException("unknown DPO loss " + type);
        };
    }

    /**
     * {@code dL/dz}: sigmoid {@code −(1−ε)·β·σ(−β z) + ε·β·σ(β z)}; robust
     * {@code (−(1−ε)·β·σ(−β z) − ε·β·σ(β z)) / (1 − 2ε)}; hinge {@code −β} where {@code 1 − β z > 0},
     * else 0 (as PyTorch's relu); ipo {@code 2·(z − 1/(2β))}.
     */
    public double derivative(double z) {
        return switch (type) {
            case "sigmoid" -> -(1 - labelSmoothing) * beta * sigmoid(-beta * z) + labelSmoothing * beta * sigmoid(beta * z);
            case "robust" -> (-(1 - labelSmoothing) * beta * sigmoid(-beta * z) - labelSmoothing * beta * sigmoid(beta * z))
                    / (1 - 2 * labelSmoothing);
            case "hinge" -> 1 - beta * z > 0 ? -beta : 0;
            case "ipo" -> 2 * (z - 1 / (2 * beta));
            default -> throw new IllegalStateException("unknown DPO loss " + type);
        };
    }

    /** {@code β·(log π − log π_ref)}: the implicit reward of an answer. */
    public double reward(double policy, double reference) {
        return beta * (policy - reference);
    }

    /** {@code log σ(x)} without overflow: {@code −log(1 + e^{−x})} for x ≥ 0, {@code x − log(1 + e^{x})} below. */
    static double logSigmoid(double x) {
        return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
    }

    static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }
}
