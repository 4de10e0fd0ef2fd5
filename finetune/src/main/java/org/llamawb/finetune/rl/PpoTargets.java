package org.llamawb.finetune.rl;

/**
 * What one PPO rollout batch trains towards, computed once without gradients as TRL's PPOTrainer does
 * (its steps "compute rewards", "whiten rewards", "compute advantages and returns"):
 * <pre>
 *   kl_t      = KL estimate of the sampled token against the reference (0 past the response)
 *   r_t       = −β·kl_t,  plus the sequence score s at t = e, where e = L if L &lt; T else L − 1
 *   (r        = whiten(r) without shifting the mean, over t ≤ L, when whitening rewards)
 *   A, R      = GAE(r, V; γ, λ) with V_t = 0 for t &gt; L
 *   A         = whiten(A) over t &lt; L, then 0 for t ≥ L
 * </pre>
 * for a response of {@code L} tokens right-padded to width {@code T}. Like TRL, the score lands one position
 * past the last response token (where the value head has seen the whole response), and values are kept
 * for one position past the response ({@link #valueMask()}).
 *
 * @param kl {@code [B, T]} per-token KL estimates, 0 past each response
 * @param nonScoreRewards {@code [B, T]} {@code −β·kl}
 * @param rewards {@code [B, T]} per-token rewards fed to GAE
 * @param values {@code [B, T]} the rollout's values, zeroed past {@link #valueMask()}
 * @param advantages {@code [B, T]} whitened advantages, 0 past each response
 * @param returns {@code [B, T]} GAE returns (targets of the value loss)
 * @param responseMask {@code [B, T]} t &lt; L: the tokens the policy loss averages over
 * @param valueMask {@code [B, T]} t ≤ L: the positions the value loss averages over
 * @param scores {@code [B]} the sequence scores
 */
public record PpoTargets(double[][] kl, double[][] nonScoreRewards, double[][] rewards, double[][] values,
        double[][] advantages, double[][] returns, boolean[][] responseMask, boolean[][] valueMask, double[] scores) {

    /**
     * @param logprobs {@code [B, T]} log π(token) of the sampled tokens under the rollout policy
     * @param refLogprobs {@code [B, T]} the same under the reference
     * @param values {@code [B, T]} value-head outputs at the positions that predict each response token
     * @param scores {@code [B]} one reward per response (reward model or rule rewards, penalties applied)
     * @param lengths {@code [B]} response tokens before right padding, each within [0, T]
     * @param klCoef β ({@code kl_coef}; the current value of an {@link AdaptiveKlController})
     */
    public static PpoTargets compute(double[][] logprobs, double[][] refLogprobs, double[][] values, double[] scores,
            int[] lengths, double klCoef, KlEstimator estimator, boolean whitenRewards, double gamma, double lambda) {
        int batch = logprobs.length;
        if (refLogprobs.length != batch || values.length != batch || scores.length != batch || lengths.length != batch) {
            throw new IllegalArgumentException("logprobs, refLogprobs, values, scores and lengths must share batch size "
                    + batch);
        }
        double[][] kl = new double[batch][];
        double[][] nonScore = new double[batch][];
        double[][] rewards = new double[batch][];
        double[][] maskedValues = new double[batch][];
        boolean[][] responseMask = new boolean[batch][];
        boolean[][] valueMask = new boolean[batch][];
        for (int b = 0; b < batch; b++) {
            int width = logprobs[b].length;
            int len = lengths[b];
            if (len < 0 || len > width || refLogprobs[b].length != width || values[b].length != width) {
                throw new IllegalArgumentException("row " + b + ": length " + len + " with width " + width);
            }
            kl[b] = new double[width];
            nonScore[b] = new double[width];
            rewards[b] = new double[width];
            maskedValues[b] = new double[width];
            responseMask[b] = new boolean[width];
            valueMask[b] = new boolean[width];
            for (int t = 0; t < width; t++) {
                responseMask[b][t] = t < len;
                valueMask[b][t] = t <= len;
                // TRL fills padded log-probabilities of both models with the same constant: KL 0 there
                kl[b][t] = t < len ? estimator.of(logprobs[b][t], refLogprobs[b][t]) : 0.0;
                nonScore[b][t] = -klCoef * kl[b][t];
                rewards[b][t] = nonScore[b][t];
                maskedValues[b][t] = t <= len ? values[b][t] : 0.0;
            }
            int end = len < width ? len : len - 1;
            if (end >= 0) {
                rewards[b][end] += scores[b];
            }
        }
        if (whitenRewards) {
            rewards = Whitening.whiten(rewards, valueMask, false);
            for (int b = 0; b < batch; b++) {
                for (int t = 0; t < rewards[b].length; t++) {
                    if (!valueMask[b][t]) {
                        rewards[b][t] = 0;
                    }
                }
            }
        }
        Gae.Result gae = Gae.compute(rewards, maskedValues, gamma, lambda);
        double[][] advantages = Whitening.whiten(gae.advantages(), responseMask, true);
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < advantages[b].length; t++) {
                if (!responseMask[b][t]) {
                    advantages[b][t] = 0;
                }
            }
        }
        return new PpoTargets(kl, nonScore, rewards, maskedValues, advantages, gae.returns(), responseMask, valueMask,
                scores.clone());
    }

    /** TRL's {@code objective/kl}: the per-response KL sum, averaged over responses. */
    public double meanKl() {
        return meanRowSum(kl);
    }

    /** TRL's {@code objective/non_score_reward}: {@code −β·KL} summed per response, averaged. */
    public double meanNonScoreReward() {
        return meanRowSum(nonScoreRewards);
    }

    /** TRL's {@code objective/scores}. */
    public double meanScore() {
        double sum = 0;
        for (double s : scores) {
            sum += s;
        }
        return sum / scores.length;
    }

    /** TRL's {@code objective/rlhf_reward}: mean score plus mean non-score reward. */
    public double rlhfReward() {
        return meanScore() + meanNonScoreReward();
    }

    private static double meanRowSum(double[][] x) {
        double sum = 0;
        for (double[] row : x) {
            for (double v : row) {
                sum += v;
            }
        }
        return sum / x.length;
    }
}
