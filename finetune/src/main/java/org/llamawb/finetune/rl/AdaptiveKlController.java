package org.llamawb.finetune.rl;

/**
 * The adaptive KL coefficient of Ziegler et al. (2019), used by InstructGPT and TRL's
 * {@code AdaptiveKLController}: after each rollout batch of {@code n} episodes with measured KL {@code k},
 * <pre>
 *   e  = clip(k / target − 1, −0.2, 0.2)
 *   β ← β · (1 + e · n / horizon)
 * </pre>
 * Immutable, so a resumed run restores it from {@link #value()} alone.
 *
 * @param value the current coefficient β
 * @param target the KL the controller steers towards ({@code kl_target} in a recipe)
 * @param horizon episodes over which a full proportional correction is applied ({@code kl_horizon})
 */
public record AdaptiveKlController(double value, double target, double horizon) {
    public AdaptiveKlController {
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException("kl_coef must be a finite number >= 0, got " + value);
        }
        if (!(target > 0) || Double.isInfinite(target)) {
            throw new IllegalArgumentException("kl_target must be a finite number > 0, got " + target);
        }
        if (!(horizon > 0) || Double.isInfinite(horizon)) {
            throw new IllegalArgumentException("kl_horizon must be a finite number > 0, got " + horizon);
        }
    }

    /** The controller after a batch of {@code episodes} rollouts whose KL was {@code currentKl}. */
    public AdaptiveKlController updated(double currentKl, long episodes) {
        double error = Math.max(-0.2, Math.min(0.2, currentKl / target - 1));
        return new AdaptiveKlController(value * (1 + error * episodes / horizon), target, horizon);
    }
}
