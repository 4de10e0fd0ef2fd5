package org.llamawb.datasets.tokenize;

import java.util.Objects;
import org.llamawb.datasets.example.Origin;

/**
 * A prompt as tokens for generation (GRPO and PPO rollouts): the conversation rendered by the chat template up to
 * where the assistant's answer starts.
 *
 * @param id the record's id (what reference answers are matched by)
 * @param ids the prompt's token ids, BOS included
 */
public record TokenizedPrompt(String id, Origin origin, int[] ids) {
    public TokenizedPrompt {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(origin, "origin");
        if (ids.length == 0) {
            throw new IllegalArgumentException("a prompt needs at least one token");
        }
    }
}
