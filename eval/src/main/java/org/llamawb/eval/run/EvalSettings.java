package org.llamawb.eval.run;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import org.llamawb.eval.score.Packing;
import org.llamawb.eval.score.ScoringOptions;
import org.llamawb.model.BadInputException;

/**
 * How tasks are run, whatever the model.
 *
 * @param limit evaluate only the first {@code limit} examples of each task (0 = all), as lm-eval's --limit
 * @param shots overrides every task's shots when not null
 * @param batchTokens token slots per forward pass
 * @param maxRows rows per forward pass
 * @param packing one row per request or per shared context
 */
public record EvalSettings(int limit, Integer shots, int batchTokens, int maxRows, Packing packing) implements Serializable {

    public EvalSettings {
        if (limit < 0) {
            throw new BadInputException("--limit must be >= 0 (0 = every example), got " + limit);
        }
        if (shots != null && shots < 0) {
            throw new BadInputException("--shots must be >= 0, got " + shots);
        }
        if (batchTokens < 1) {
            throw new BadInputException("--batch-tokens must be >= 1, got " + batchTokens);
        }
        if (maxRows < 1) {
            throw new BadInputException("max_rows must be >= 1, got " + maxRows);
        }
        if (packing == null) {
            throw new BadInputException("--packing must be tree or none");
        }
    }

    public static EvalSettings defaults() {
        return new EvalSettings(0, null, ScoringOptions.DEFAULT_BATCH_TOKENS, ScoringOptions.DEFAULT_MAX_ROWS, Packing.TREE);
    }

    public ScoringOptions scoring(int maxLength) {
        return new ScoringOptions(maxLength, batchTokens, maxRows, packing);
    }

    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("limit", limit);
        m.put("shots", shots == null ? "per task" : shots);
        m.put("batch_tokens", batchTokens);
        m.put("packing", packing.name().toLowerCase(java.util.Locale.ROOT));
        return m;
    }
}
