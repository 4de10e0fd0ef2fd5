package org.llamawb.finetune.rl;

import java.util.List;
import java.util.Set;

/**
 * GRPOTrainer's completion metrics of one generation batch.
 *
 * @param meanLength {@code completions/mean_length}: mean tokens per completion (stop token included)
 * @param clippedRatio {@code completions/clipped_ratio}: fraction whose last token is neither a stop token nor
 *        padding, i.e. cut off at {@code max_completion_length}
 */
public record CompletionStats(double meanLength, double clippedRatio) {

    /** @param completions the generated token ids, each as long as it was generated */
    public static CompletionStats of(List<int[]> completions, Set<Integer> stopAndPadIds) {
        if (completions.isEmpty()) {
            throw new IllegalArgumentException("no completions were generated");
        }
        long tokens = 0;
        int clipped = 0;
        for (int[] ids : completions) {
            tokens += ids.length;
            if (ids.length == 0 || !stopAndPadIds.contains(ids[ids.length - 1])) {
                clipped++;
            }
        }
        return new CompletionStats((double) tokens / completions.size(), (double) clipped / completions.size());
    }
}
