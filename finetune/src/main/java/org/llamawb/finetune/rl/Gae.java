package org.llamawb.finetune.rl;

/**
 * Generalised advantage estimation (Schulman et al. 2016) over a right-padded {@code [B, T]} batch, as TRL's
 * PPOTrainer runs it: backwards over every column,
 * <pre>
 *   δ_t = r_t + γ·V_{t+1} − V_t        (V_T = 0)
 *   A_t = δ_t + γλ·A_{t+1}             (A_T = 0)
 *   R_t = A_t + V_t
 * </pre>
 * The recursion itself ignores padding: rewards and values must already be zero past each response (which
 * {@link PpoTargets} arranges), so padded columns contribute nothing to the real ones.
 */
public final class Gae {
    private Gae() {}

    /** Advantages and returns ({@code [B, T]} each). */
    public record Result(double[][] advantages, double[][] returns) {}

    public static Result compute(double[][] rewards, double[][] values, double gamma, double lambda) {
        if (rewards.length != values.length) {
            throw new IllegalArgumentException("rewards and values differ in batch size: " + rewards.length + " vs "
                    + values.length);
        }
        int batch = rewards.length;
        double[][] advantages = new double[batch][];
        double[][] returns = new double[batch][];
        for (int b = 0; b < batch; b++) {
            int len = rewards[b].length;
            if (values[b].length != len) {
                throw new IllegalArgumentException("row " + b + ": " + len + " rewards but " + values[b].length
                        + " values");
            }
            advantages[b] = new double[len];
            returns[b] = new double[len];
            double next = 0; // A_{t+1}
            for (int t = len - 1; t >= 0; t--) {
                double nextValue = t < len - 1 ? values[b][t + 1] : 0.0;
                double delta = rewards[b][t] + gamma * nextValue - values[b][t];
                next = delta + gamma * lambda * next;
                advantages[b][t] = next;
                returns[b][t] = next + values[b][t];
            }
        }
        return new Result(advantages, returns);
    }
}
