package org.llamawb.finetune.rl;

import java.math.BigDecimal;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A reward computed from the text of a completion by a fixed rule, never by running code. Each returns a number
 * for one completion; {@link RuleRewards} weights and sums them.
 */
public sealed interface RuleReward {

    /**
     * What a rule sees of one completion.
     *
     * @param exampleId the prompt's id (named in errors)
     * @param text the completion's text, stop string removed
     * @param tokens the completion's length in tokens
     * @param reference the example's reference answer, or null when the data has none
     */
    record Completion(String exampleId, String text, int tokens, String reference) {}

    double score(Completion c);

    /**
     * 1 when the final answer extracted by {@code pattern} equals the reference answer: as numbers when both
     * parse as decimals ({@code 12} = {@code 12.0}), otherwise as trimmed strings. 0 when nothing matches.
     */
    record ExactAnswer(Pattern pattern) implements RuleReward {
        @Override
        public double score(Completion c) {
            if (c.reference() == null) {
                throw new IllegalArgumentException("example " + c.exampleId() + " has no reference answer");
            }
            Matcher m = pattern.matcher(c.text());
            String last = null;
            while (m.find()) {
                last = extracted(m);
            }
            return last != null && sameAnswer(last.trim(), c.reference().trim()) ? 1.0 : 0.0;
        }

        private static String extracted(Matcher m) {
            if (m.pattern().pattern().contains("(?<answer>")) { // Pattern.namedGroups() is Java 20+
                return m.group("answer");
            }
            return m.groupCount() >= 1 ? m.group(1) : m.group();
        }

        static boolean sameAnswer(String got, String expected) {
            if (got.equals(expected)) {
                return true;
            }
            try {
                return new BigDecimal(got).compareTo(new BigDecimal(expected)) == 0;
            } catch (NumberFormatException notNumbers) {
                return false;
            }
        }
    }

    /** 1 when {@code pattern} occurs anywhere in the completion. */
    record RegexMatch(Pattern pattern) implements RuleReward {
        @Override
        public double score(Completion c) {
            return pattern.matcher(c.text()).find() ? 1.0 : 0.0;
        }
    }

    /** 1 when the completion contains {@code text}. */
    record Contains(String text, boolean ignoreCase) implements RuleReward {
        @Override
        public double score(Completion c) {
            boolean found = ignoreCase
                    ? c.text().toLowerCase(Locale.ROOT).contains(text.toLowerCase(Locale.ROOT))
                    : c.text().contains(text);
            return found ? 1.0 : 0.0;
        }
    }

    /** 1 when the whole completion matches {@code pattern} (e.g. reasoning then an answer line). */
    record Format(Pattern pattern) implements RuleReward {
        @Override
        public double score(Completion c) {
            return pattern.matcher(c.text()).matches() ? 1.0 : 0.0;
        }
    }

    /** {@code −perUnit · max(0, length − maxLength)}, length in tokens or characters. */
    record LengthPenalty(int maxLength, double perUnit, boolean inTokens) implements RuleReward {
        @Override
        public double score(Completion c) {
            int length = inTokens ? c.tokens() : c.text().codePointCount(0, c.text().length());
            return -perUnit * Math.max(0, length - maxLength);
        }
    }
}
