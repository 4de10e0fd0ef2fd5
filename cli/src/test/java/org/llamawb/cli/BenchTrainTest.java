package org.llamawb.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code bench train} takes the trainer's step: accumulation and clipping are part of what it times. */
class BenchTrainTest {

    @Test
    void trainTimesTheTrainersStepWithAccumulationAndClipping() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream saved = System.out;
        int rc;
        try {
            System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
            rc = new Workbench(List.of(new BenchCommand())).run(new String[] {"bench", "train", "--dim", "32", "--layers", "2",
                "--heads", "4", "--hidden", "64", "--vocab", "128", "--batch", "2", "--seq", "16", "--steps", "2",
                "--warmup", "1", "--accumulation", "3", "--max-grad-norm", "0.5", "--prompt-fraction", "0.5"},
                    new PrintStream(err, true, StandardCharsets.UTF_8));
        } finally {
            System.setOut(saved);
        }
        assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
        JsonNode j = new ObjectMapper().readTree(bytes.toString(StandardCharsets.UTF_8));
        assertEquals(3, j.get("gradient_accumulation_steps").asInt());
        assertEquals(0.5, j.get("max_grad_norm").asDouble());
        assertEquals(2 * 16 * 3, j.get("tokens_per_step").asLong());
        double loss = j.get("last_loss").asDouble();
        assertTrue(loss > 3 && loss < 7, "a random 128-token model's loss is near ln 128 = 4.85: " + loss);
        assertEquals(2, j.get("step").get("n").asInt());
    }
}
