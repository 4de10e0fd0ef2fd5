package org.llamawb.tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ParamsTest {

    record Lora(int r, double alpha, List<String> targetModules) {}

    @Test
    void flattensMapsRecordsAndListsToDottedKeys() {
        Map<String, Object> train = new LinkedHashMap<>();
        train.put("lr", 2e-4);
        train.put("schedule", Map.of("name", "cosine"));
        train.put("seed", null);
        Map<String, Object> recipe = new LinkedHashMap<>();
        recipe.put("method", "sft");
        recipe.put("adapter", new Lora(8, 16.0, List.of("q_proj", "v_proj")));
        recipe.put("train", train);
        recipe.put("data", Map.of("sources", List.of(Map.of("path", "a.jsonl"), Map.of("path", "b.jsonl"))));
        recipe.put("empty", Map.of());

        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("method", "sft");
        expected.put("adapter.r", "8");
        expected.put("adapter.alpha", "16.0");
        expected.put("adapter.targetModules", "[q_proj, v_proj]");
        expected.put("train.lr", "2.0E-4");
        expected.put("train.schedule.name", "cosine");
        expected.put("train.seed", "null");
        expected.put("data.sources.0.path", "a.jsonl");
        expected.put("data.sources.1.path", "b.jsonl");
        expected.put("empty", "{}");
        assertEquals(expected, Params.flatten(recipe));
    }

    @Test
    void flattensUnderAPrefix() {
        assertEquals(Map.of("model.r", "4", "model.alpha", "8.0", "model.targetModules", "[]"),
                Params.flatten("model", new Lora(4, 8.0, List.of())));
    }
}
