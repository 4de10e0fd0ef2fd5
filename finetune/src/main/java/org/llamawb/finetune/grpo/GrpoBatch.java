package org.llamawb.finetune.grpo;

/**
 * Completions of one micro-batch, ready for the loss: each row is its prompt followed by its completion,
 * right-padded to a common width {@code T}. Per-token arrays are flat {@code [N, T]} in the layout of
 * {@link org.llamawb.finetune.online.Rollouts#tokenLogprobs}: position {@code j} holds what predicts token {@code j + 1}.
 *
 * @param ids {@code [N][T]} token ids, padding after each row's completion
 * @param mask {@code [N·T]} 1 where position j predicts a completion token, else 0
 * @param advantages {@code [N]} each completion's group-normalised advantage
 * @param oldLogprobs {@code [N·T]} log π at generation time, or null when each rollout is used once (then π_old is the
 *     current policy, detached, as TRL does)
 * @param refLogprobs {@code [N·T]} log π_ref (adapter disabled), or null when β = 0
 * @param completionTokens completion tokens of this micro-batch
 * @param stepCompletionTokens completion tokens of the whole generation batch (the DAPO normaliser)
 */
record GrpoBatch(int[][] ids, float[] mask, float[] advantages, float[] oldLogprobs, float[] refLogprobs,
        long completionTokens, long stepCompletionTokens) {

    int rows() {
        return ids.length;
    }

    int width() {
        return ids[0].length;
    }
}
