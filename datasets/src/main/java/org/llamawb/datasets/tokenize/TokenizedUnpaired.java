package org.llamawb.datasets.tokenize;

import java.util.Objects;
import org.llamawb.datasets.example.Origin;

/**
 * A KTO example as tokens: the prompt (rendered by the chat template up to where the answer starts) and
 * the answer (with the marker that ends it), labelled desirable or undesirable.
 */
public record TokenizedUnpaired(String id, Origin origin, int[] prompt, int[] completion, boolean desirable,
        boolean truncated) {
    public TokenizedUnpaired {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(origin, "origin");
        if (prompt.length == 0 || completion.length == 0) {
            throw new IllegalArgumentException("prompt and completion must not be empty");
        }
    }
}
