package org.llamawb.adapters.score;

import ai.djl.ndarray.NDArray;

/**
 * The pairwise reward-model loss (Bradley–Terry, as in InstructGPT and TRL's {@code RewardTrainer}):
 * {@code L = mean_i −log σ(r_chosen,i − r_rejected,i − m_i)}, where the optional margin {@code m_i} says by how
 * much chosen should beat rejected (Llama 2's margin loss).
 */
public final class RewardLoss {
    private RewardLoss() {}

    /**
     * The loss, a 0-d tensor that carries gradients back to the rewards.
     *
     * @param chosen {@code [N]} rewards of the preferred responses
     * @param rejected {@code [N]} rewards of the other responses
     * @param margin {@code [N]} margins, or null for none
     */
    public static NDArray loss(NDArray chosen, NDArray rejected, NDArray margin) {
        NDArray diff = chosen.sub(rejected); // [N]
        if (margin != null) {
            diff = diff.sub(margin);
        }
        // −log σ(x) = softplus(−x), computed without overflow for large |x|
        return diff.neg().getNDArrayInternal().softPlus().mean();
    }

    /**
     * TRL's reward metrics of one batch.
     *
     * @param accuracy fraction of pairs with {@code r_chosen > r_rejected} (strictly)
     * @param margin mean of {@code r_chosen − r_rejected} (the margin column is not subtracted)
     * @param rewardsChosen mean reward of the preferred responses
     * @param rewardsRejected mean reward of the other responses
     */
    public record Metrics(double accuracy, double margin, double rewardsChosen, double rewardsRejected) {
        /** The metrics of rewards already on the host. */
        public static Metrics of(float[] chosen, float[] rejected) {
            if (chosen.length != rejected.length || chosen.length == 0) {
                throw new IllegalArgumentException("need as many chosen as rejected rewards, and at least one pair (got "
                        + chosen.length + " and " + rejected.length + ")");
            }
            double wins = 0;
            double sumC = 0;
            double sumR = 0;
            for (int i = 0; i < chosen.length; i++) {
                wins += chosen[i] > rejected[i] ? 1 : 0;
                sumC += chosen[i];
                sumR += rejected[i];
            }
            int n = chosen.length;
            return new Metrics(wins / n, (sumC - sumR) / n, sumC / n, sumR / n);
        }
    }
}
