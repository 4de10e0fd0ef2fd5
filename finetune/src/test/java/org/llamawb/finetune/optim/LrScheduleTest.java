package org.llamawb.finetune.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * Every multiplier equals transformers' {@code get_*_schedule_with_warmup} at every step (fixtures by
 * scripts/reference/make_schedule_fixtures.py).
 */
class LrScheduleTest {
    static JsonNode fixture(String name) throws Exception {
        try (InputStream in = LrScheduleTest.class.getResourceAsStream("/fixtures/optim/" + name)) {
            return new ObjectMapper().readTree(in);
        }
    }

    @Test
    void factorsEqualTransformersAtEveryStep() throws Exception {
        JsonNode cases = fixture("schedules.json").get("cases");
        assertEquals(18, cases.size());
        for (JsonNode c : cases) {
            LrSchedule s = LrSchedule.parse(c.get("schedule").asText());
            long warmup = c.get("warmup").asLong();
            long total = c.get("total").asLong();
            JsonNode factors = c.get("factors");
            for (int step = 0; step < factors.size(); step++) {
                double expected = factors.get(step).asDouble();
                assertEquals(expected, s.factor(step, warmup, total), 1e-12,
                        String.format(Locale.ROOT, "%s warmup=%d total=%d step=%d", s, warmup, total, step));
            }
        }
    }
}
