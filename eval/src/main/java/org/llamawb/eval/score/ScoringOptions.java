package org.llamawb.eval.score;

import org.llamawb.model.BadInputException;

/**
 * How log-likelihood requests are batched.
 *
 * @param maxLength the model's window in tokens: longer inputs lose tokens on the left, as in
 *     lm-evaluation-harness ({@code max_length}, by default the model's {@code max_position_embeddings})
 * @param batchTokens at most this many token slots (rows × longest row) per forward pass
 * @param maxRows at most this many rows per forward pass
 * @param packing one row per request, or one row per shared context
 */
public record ScoringOptions(int maxLength, int batchTokens, int maxRows, Packing packing) {

    public static final int DEFAULT_BATCH_TOKENS = 8192;
    public static final int DEFAULT_MAX_ROWS = 64;

    public ScoringOptions {
        if (maxLength < 2) {
            throw new BadInputException("max_length must be at least 2, got " + maxLength);
        }
        if (batchTokens < 1) {
            throw new BadInputException("batch_tokens must be positive, got " + batchTokens);
        }
        if (maxRows < 1) {
            throw new BadInputException("max_rows must be positive, got " + maxRows);
        }
        if (packing == null) {
            throw new BadInputException("packing must be none or tree");
        }
    }

    public static ScoringOptions defaults(int maxLength) {
        return new ScoringOptions(maxLength, DEFAULT_BATCH_TOKENS, DEFAULT_MAX_ROWS, Packing.TREE);
    }

    public ScoringOptions withPacking(Packing p) {
        return new ScoringOptions(maxLength, batchTokens, maxRows, p);
    }

    public ScoringOptions withMaxLength(int n) {
        return new ScoringOptions(n, batchTokens, maxRows, packing);
    }
}
