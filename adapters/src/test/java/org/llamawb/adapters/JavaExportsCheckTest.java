package org.llamawb.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.llamawb.model.Fixtures;

/**
 * The record of Python PEFT and transformers loading this workbench's exported adapters and merged
 * checkpoints (scripts/reference/check_java_exports.py): they reproduce PEFT's logits.
 */
class JavaExportsCheckTest {
    @Test
    void pythonLoadsOurAdaptersAndMergedCheckpointsWithPeftsLogits() {
        JsonNode r = Fixtures.json(Fixtures.path("peft/java-exports/results.json"));
        for (String c : List.of("lora", "rslora", "patterns", "dora")) {
            JsonNode k = r.get("cases").get(c);
            assertTrue(k.get("peft_loads_java_export_max_abs_diff").asDouble() <= 1e-5, c + ": " + k);
            assertTrue(k.get("transformers_loads_java_merge_max_abs_diff").asDouble() <= 1e-4, c + ": " + k);
        }
        JsonNode t = r.get("java_trained_stories260k");
        assertTrue(t.get("adapter_changes_the_model_max_abs").asDouble() > 0.1, "the trained adapter must matter: " + t);
        assertTrue(t.get("peft_adapter_vs_java_merge_max_abs_diff").asDouble() <= 1e-4, t.toString());
        // a DoRA adapter trained here: PEFT finds use_dora and a magnitude per targeted projection (5 layers × 7),
        // trained away from the row norms it starts at, and applies it as our merge does
        JsonNode dora = r.get("java_trained_stories260k_dora");
        assertTrue(dora.get("use_dora").asBoolean(), dora.toString());
        assertEquals(35, dora.get("magnitude_tensors").asInt(), dora.toString());
        assertTrue(dora.get("magnitude_max_abs_move_from_row_norms").asDouble() > 1e-3, dora.toString());
        assertTrue(dora.get("adapter_changes_the_model_max_abs").asDouble() > 0.1, dora.toString());
        assertTrue(dora.get("peft_adapter_vs_java_merge_max_abs_diff").asDouble() <= 1e-4, dora.toString());
        assertEquals("0.21.2", r.get("meta").get("peft").asText());
    }
}
