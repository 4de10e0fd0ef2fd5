package org.llamawb.eval.generation;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Pulls the answer out of generated text: the first match of a regex (its group 1 when it has groups), or
 * the whole text when there is no regex; surrounding whitespace is trimmed. No match gives "".
 */
public final class AnswerExtractor {
    private final Pattern pattern;

    /** @param regex the pattern, or null to take the whole text */
    public AnswerExtractor(String regex) {
        this.pattern = regex == null ? null : Pattern.compile(regex);
    }

    public String extract(String generated) {
        if (pattern == null) {
            return generated.strip();
        }
        Matcher m = pattern.matcher(generated);
        if (!m.find()) {
            return "";
        }
        String s = m.groupCount() >= 1 ? m.group(1) : m.group();
        return s == null ? "" : s.strip();
    }
}
