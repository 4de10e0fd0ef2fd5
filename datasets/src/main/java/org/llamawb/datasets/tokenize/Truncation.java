package org.llamawb.datasets.tokenize;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;
import org.llamawb.model.BadInputException;

/**
 * What happens to an example longer than {@code max_length} tokens (recipe key {@code data.truncation}).
 * Either way it is counted ({@code truncated} or {@code dropped: longer than max_length}).
 */
public enum Truncation {
    /**
     * Keep the first {@code max_length} tokens and cut the rest (the later turns, or the end of the last
     * answer and its EOS). An example left with no trained token is dropped. Preference pairs keep the
     * whole prompt and cut the answers; a prompt that leaves no room for an answer token drops the pair.
     */
    RIGHT("right"),
    /** Drop the example: {@code max_length} then works as a length filter. */
    DROP("drop");

    private final String wireName;

    Truncation(String wireName) {
        this.wireName = wireName;
    }

    @JsonValue
    public String wireName() {
        return wireName;
    }

    @JsonCreator
    public static Truncation parse(String s) {
        for (Truncation t : values()) {
            if (t.wireName.equals(s.toLowerCase(Locale.ROOT))) {
                return t;
            }
        }
        throw new BadInputException("truncation: expected right or drop, got '" + s + "'");
    }
}
