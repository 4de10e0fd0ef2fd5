package org.llamawb.finetune.rl;

/**
 * GRPO's advantages (Shao et al. 2024, as TRL 1.16's GRPOTrainer with {@code sum_then_normalize}): the reward
 * of completion {@code j} of prompt {@code i} is the weighted sum of the reward functions,
 * {@code r_ij = Σ_k w_k·r_ijk}, and its advantage is
 * <pre>
 *   A_ij = (r_ij − mean_j r_ij) / (std + 1e−4)      (GROUP: std over the group; BATCH: over all; NONE: no division)
 * </pre>
 * with Bessel-corrected standard deviations. Completions of one prompt are consecutive, {@code G} per prompt.
 *
 * @param rewards {@code [N]} the summed rewards
 * @param advantages {@code [N]} one per completion, the same for all its tokens
 * @param reward TRL's {@code reward}: mean of {@code rewards}
 * @param rewardStd TRL's {@code reward_std}: their (Bessel) standard deviation over the batch
 * @param fracZeroStd TRL's {@code frac_reward_zero_std}: completions whose group (or batch) std is 0
 */
public record GroupAdvantages(double[] rewards, double[] advantages, double reward, double rewardStd,
        double fracZeroStd) {

    /** From one reward per completion. */
    public static GroupAdvantages of(double[] rewards, int groupSize, RewardScaling scaling) {
        int n = rewards.length;
        if (groupSize < 1 || n == 0 || n % groupSize != 0) {
            throw new IllegalArgumentException("need a positive multiple of num_generations (" + groupSize
                    + ") completions, got " + n);
        }
        double batchStd = n > 1 ? std(rewards, 0, n) : Double.NaN;
        double[] advantages = new double[n];
        int zeroStd = 0;
        for (int start = 0; start < n; start += groupSize) {
            double mean = mean(rewards, start, start + groupSize);
            // TRL uses the group std for GROUP and NONE (for logging only with NONE); one completion has none
            double std = scaling == RewardScaling.BATCH ? batchStd
                    : groupSize > 1 ? std(rewards, start, start + groupSize) : 0.0;
            for (int j = start; j < start + groupSize; j++) {
                double centred = rewards[j] - mean;
                advantages[j] = scaling == RewardScaling.NONE ? centred : centred / (std + 1e-4);
                if (Double.isNaN(advantages[j])) {
                    advantages[j] = 0; // TRL's nan_to_num
                }
            }
            if (Math.abs(std) <= 1e-8) { // torch.isclose(std, 0): |std| ≤ atol 1e-8
                zeroStd += groupSize;
            }
        }
        return new GroupAdvantages(rewards.clone(), advantages, mean(rewards, 0, n), batchStd, (double) zeroStd / n);
    }

    /** From {@code [N, K]} rewards of K functions, summed with {@code weights} first. */
    public static GroupAdvantages of(double[][] rewardsPerFunction, double[] weights, int groupSize,
            RewardScaling scaling) {
        double[] summed = new double[rewardsPerFunction.length];
        for (int i = 0; i < summed.length; i++) {
            if (rewardsPerFunction[i].length != weights.length) {
                throw new IllegalArgumentException("completion " + i + " has " + rewardsPerFunction[i].length
                        + " rewards for " + weights.length + " weights");
            }
            for (int k = 0; k < weights.length; k++) {
                summed[i] += weights[k] * rewardsPerFunction[i][k];
            }
        }
        return of(summed, groupSize, scaling);
    }

    private static double mean(double[] x, int from, int to) {
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += x[i];
        }
        return sum / (to - from);
    }

    private static double std(double[] x, int from, int to) {
        double mean = mean(x, from, to);
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += (x[i] - mean) * (x[i] - mean);
        }
        return Math.sqrt(sum / (to - from - 1));
    }
}
