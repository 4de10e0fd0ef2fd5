package org.llamawb.finetune.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.BadInputException;
import org.llamawb.model.weights.SafetensorsWriter;
import org.llamawb.model.weights.StorageType;

/** Which checkpoints {@link CheckpointStore#problem} refuses, and the fallback of {@code latestUsable}. */
class CheckpointProblemsTest {
    @TempDir
    Path tmp;

    static TrainerState at(long step) {
        return new TrainerState(step, 0, step, 7, 0, 0, 10 * step, Collections.nCopies((int) step, 1.0), Double.NaN);
    }

    static void save(CheckpointStore store, long step) {
        store.save(at(step), Map.of(), "train: {max_steps: 9}\n", dir -> {
            SafetensorsWriter w = new SafetensorsWriter(StorageType.F32);
            w.add("w", new float[] {1, 2, 3, (float) step}, new long[] {4});
            w.writeFile(dir.resolve(CheckpointStore.TRAINABLE_FILE));
        });
    }

    static void flipLastByte(Path f) throws Exception {
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.seek(r.length() - 1);
            int b = r.read();
            r.seek(r.length() - 1);
            r.write(b ^ 1);
        }
    }

    @Test
    void eachKindOfDamageIsNamedAndTheNewestUsableIsChosen() throws Exception {
        Path run = tmp.resolve("run");
        CheckpointStore store = new CheckpointStore(run, 5);
        for (long s = 1; s <= 4; s++) {
            save(store, s);
        }
        assertEquals(Optional.empty(), CheckpointStore.problem(run.resolve("checkpoint-000004")));

        flipLastByte(run.resolve("checkpoint-000004").resolve(CheckpointStore.TRAINABLE_FILE)); // a tensor value: only the checksum sees it
        Files.writeString(run.resolve("checkpoint-000003").resolve(CheckpointStore.STATE_FILE), "{\"step\": 3,");
        Files.delete(run.resolve("checkpoint-000002").resolve(CheckpointStore.RECIPE_FILE));
        assertEquals("trainable.safetensors does not match its checksum (damaged after it was written)",
                CheckpointStore.problem(run.resolve("checkpoint-000004")).orElseThrow());
        assertTrue(CheckpointStore.problem(run.resolve("checkpoint-000003")).orElseThrow()
                .startsWith("trainer_state.json: not a readable trainer state"));
        assertEquals("recipe.yaml is missing", CheckpointStore.problem(run.resolve("checkpoint-000002")).orElseThrow());

        List<String> warnings = new ArrayList<>();
        assertEquals(run.resolve("checkpoint-000001"), store.latestUsable(warnings::add).orElseThrow());
        assertEquals(3, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).startsWith("warning: checkpoint-000004 cannot be resumed from (trainable.safetensors"));

        // a checkpoint from before the checksum list: a truncated tensor file is still caught by its length
        Files.delete(run.resolve("checkpoint-000001").resolve(CheckpointStore.CHECKSUMS_FILE));
        assertEquals(Optional.empty(), CheckpointStore.problem(run.resolve("checkpoint-000001")));
        Path t = run.resolve("checkpoint-000001").resolve(CheckpointStore.OPTIMIZER_FILE);
        Files.write(t, java.util.Arrays.copyOf(Files.readAllBytes(t), 3));
        assertTrue(CheckpointStore.problem(run.resolve("checkpoint-000001")).orElseThrow().contains("optimizer.safetensors"));
        BadInputException e = assertThrows(BadInputException.class, () -> store.latestUsable(w -> { }));
        assertTrue(e.getMessage().startsWith(run + ": no usable checkpoint"), e.getMessage());
    }
}
