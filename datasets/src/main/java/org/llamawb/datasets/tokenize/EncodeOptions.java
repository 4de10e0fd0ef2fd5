package org.llamawb.datasets.tokenize;

import java.util.Objects;

/**
 * How examples become tokens.
 *
 * @param maxLength the most tokens of one sequence (prompt and answer together for preference pairs)
 * @param truncation what a longer example does
 * @param minLength examples with fewer tokens are dropped (a length filter; 0 keeps all)
 */
public record EncodeOptions(int maxLength, Truncation truncation, int minLength) {
    public EncodeOptions {
        Objects.requireNonNull(truncation, "truncation");
        if (maxLength < 2) {
            throw new IllegalArgumentException("max_length must be >= 2, got " + maxLength);
        }
        if (minLength < 0 || minLength > maxLength) {
            throw new IllegalArgumentException("min_length must be within [0, max_length], got " + minLength);
        }
    }

    public static EncodeOptions of(int maxLength) {
        return new EncodeOptions(maxLength, Truncation.RIGHT, 0);
    }
}
