package org.llamawb.tracking.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code runs compare --tag K=V}: MLflow's search filter, keys quoted in backticks, quotes in values escaped. */
class TagFilterTest {
    @Test
    void everyTagIsATermAndValuesAreQuoted() {
        assertEquals("", RunComparison.tagFilter(Map.of()));
        assertEquals("tags.`chain` = 'stories260k'", RunComparison.tagFilter(Map.of("chain", "stories260k")));
        Map<String, String> two = new LinkedHashMap<>();
        two.put("chain", "it's");
        two.put("stage name", "a\\b"); // one backslash
        assertEquals("tags.`chain` = 'it\\'s' AND tags.`stage name` = 'a\\\\b'", RunComparison.tagFilter(two));
    }
}
