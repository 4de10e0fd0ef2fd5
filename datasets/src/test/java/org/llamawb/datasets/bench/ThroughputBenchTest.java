package org.llamawb.datasets.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.llamawb.datasets.source.DataFormat;
import org.llamawb.datasets.template.BuiltinTemplate;
import org.llamawb.datasets.template.SpecialTokens;
import org.llamawb.datasets.tokenize.Tokenizers;
import org.llamawb.model.TestData;

/** Smoke test of the throughput harness (no timing asserted): it measures what it says on real data. */
class ThroughputBenchTest {
    @Test
    void measuresTheWholeOasstFileAndPacksEveryToken() throws Exception {
        var tok = Tokenizers.stories();
        ThroughputResult r = ThroughputBench.run(TestData.require("sft/oasst-en100/en_100_tree.jsonl"), DataFormat.OASST,
                tok, BuiltinTemplate.VICUNA_V1_1.with(SpecialTokens.of(tok)), 2048, 4, 1);
        assertEquals(100, r.examples());
        assertTrue(r.tokens() > 100 * 100, "OASST conversations are long: " + r.tokens());
        assertTrue(r.encodeSeconds() > 0 && r.packSeconds() > 0);
        assertEquals(r.tokens(), r.efficiency().realTokens());
        JsonNode j = new ObjectMapper().readTree(r.toJson());
        assertEquals("data", j.path("bench").asText());
        assertEquals(100, j.path("examples").asInt());
        assertEquals(r.tokens() / r.encodeSeconds(), j.path("encode_tokens_per_s").asDouble(), 0.1);
        assertTrue(j.path("fill").asDouble() > 0.5 && j.path("fill").asDouble() <= 1.0);
    }
}
