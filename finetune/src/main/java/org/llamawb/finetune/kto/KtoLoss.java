package org.llamawb.finetune.kto;

import org.llamawb.finetune.recipe.KtoSection;

/**
 * TRL's KTO loss ({@code KTOTrainer}, {@code loss_type="kto"}) of one example, as pure functions of its
 * log-ratio {@code Δ = log π(y|x) − log π_ref(y|x)} and the batch's KL estimate
 *
 * <pre>kl = max(0, mean_j(log π(y'_j|x_j) − log π_ref(y'_j|x_j)))</pre>
 *
 * over mismatched pairs {@code (x_j, y'_j)} (each prompt with another example's answer), taken without
 * gradient:
 *
 * <ul>
 *   <li>desirable: {@code L = w_d · (1 − σ(β·(Δ − kl)))}</li>
 *   <li>undesirable: {@code L = w_u · (1 − σ(β·(kl − Δ)))}</li>
 * </ul>
 *
 * The batch loss is the mean over its examples; the implicit reward of an example is {@code β·Δ}.
 */
public record KtoLoss(double beta, double desirableWeight, double undesirableWeight) {

    public static KtoLoss of(KtoSection s) {
        return new KtoLoss(s.beta(), s.desirableWeight(), s.undesirableWeight());
    }

    /** {@code max(0, mean_j(policy_j − reference_j))}. */
    public static double kl(double[] policy, double[] reference) {
        double sum = 0;
        for (int j = 0; j < policy.length; j++) {
            sum += policy[j] - reference[j];
        }
        return Math.max(0, sum / policy.length);
    }

    public double loss(double logRatio, double kl, boolean desirable) {
        return desirable ? desirableWeight * (1 - sigmoid(beta * (logRatio - kl)))
                : undesirableWeight * (1 - sigmoid(beta * (kl - logRatio)));
    }

    /**
     * {@code dL/dΔ} ({@code kl} is a constant): desirable {@code −w_d·β·σ(x)(1 − σ(x))} with
     * {@code x = β(Δ − kl)}; undesirable {@code +w_u·β·σ(x)(1 − σ(x))} with {@code x = β(kl − Δ)}.
     */
    public double derivative(double logRatio, double kl, boolean desirable) {
        double x = desirable ? beta * (logRatio - kl) : beta * (kl - logRatio);
        double s = sigmoid(x);
        return desirable ? -desirableWeight * beta * s * (1 - s) : undesirableWeight * beta * s * (1 - s);
    }

    static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }
}
