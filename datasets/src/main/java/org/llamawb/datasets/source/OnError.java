package org.llamawb.datasets.source;

import java.util.Locale;
import org.llamawb.model.BadInputException;

/** What a bad record does (recipe key {@code data.on_error}). */
public enum OnError {
    /** The record is skipped; the problem is counted by reason, logged, and kept for reports. */
    SKIP,
    /** The first bad record ends the read with a {@link BadInputException} naming file and line. */
    FAIL;

    /** Parses {@code skip} or {@code fail}. */
    public static OnError parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "skip" -> SKIP;
            case "fail" -> FAIL;
            default -> throw new BadInputException("on_error: expected skip or fail, got '" + s + "'");
        };
    }
}
