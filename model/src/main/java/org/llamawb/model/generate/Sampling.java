package org.llamawb.model.generate;

import java.util.Set;
import org.llamawb.model.BadInputException;

/**
 * How the next token is chosen and when generation stops.
 *
 * @param temperature 0 for greedy (argmax); otherwise logits are divided by it before sampling
 * @param topK keep only the k most likely tokens (0 = all)
 * @param topP keep the smallest set of most likely tokens whose probability reaches p (1 = all)
 * @param seed seed of the sampling random stream (same seed, same text)
 * @param maxNewTokens at most this many tokens after the prompt
 * @param stopIds generation ends after any of these is produced (it is not printed)
 */
public record Sampling(double temperature, int topK, double topP, long seed, int maxNewTokens, Set<Integer> stopIds) {

    public Sampling {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new BadInputException("--temperature must be >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new BadInputException("--top-k must be >= 0 (0 = no limit), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new BadInputException("--top-p must be within (0, 1], got " + topP);
        }
        if (maxNewTokens < 0) {
            throw new BadInputException("--max-new-tokens must be >= 0, got " + maxNewTokens);
        }
        stopIds = Set.copyOf(stopIds);
    }

    public static Sampling greedy(int maxNewTokens, Set<Integer> stopIds) {
        return new Sampling(0, 0, 1, 0, maxNewTokens, stopIds);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }
}
