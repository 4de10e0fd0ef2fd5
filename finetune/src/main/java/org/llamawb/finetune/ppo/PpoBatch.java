package org.llamawb.finetune.ppo;

/**
 * Completions of one micro-batch with what PPO trains them towards, computed once per rollout batch. Each row is its
 * prompt followed by its completion, right-padded to width {@code T}; per-token arrays are flat {@code [N, T]} in the
 * layout of {@link org.llamawb.finetune.online.Rollouts#tokenLogprobs}: position {@code j} holds what predicts token
 * {@code j + 1} (and the value of the prefix ending at {@code j}).
 *
 * @param ids {@code [N][T]} token ids
 * @param responseMask {@code [N·T]} 1 where position j predicts a completion token
 * @param valueMask {@code [N·T]} the response positions and the one after the last completion token
 * @param oldLogprobs {@code [N·T]} log π at rollout time
 * @param oldValues {@code [N·T]} the critic's values at rollout time (0 outside {@code valueMask})
 * @param advantages {@code [N·T]} whitened GAE advantages (0 outside the response)
 * @param returns {@code [N·T]} GAE returns, the value loss's targets
 * @param completionTokens completion tokens of this micro-batch
 */
record PpoBatch(int[][] ids, float[] responseMask, float[] valueMask, float[] oldLogprobs, float[] oldValues,
        float[] advantages, float[] returns, long completionTokens) {

    int rows() {
        return ids.length;
    }

    int width() {
        return ids[0].length;
    }
}
