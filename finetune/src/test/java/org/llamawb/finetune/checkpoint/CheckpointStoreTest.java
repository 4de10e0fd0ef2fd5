package org.llamawb.finetune.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.BadInputException;

class CheckpointStoreTest {
    @TempDir
    Path tmp;

    static TrainerState at(long step) {
        return new TrainerState(step, 0, step, 7, 0, 0, 10 * step, List.of(), Double.NaN);
    }

    static List<String> entries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aFullDiskIsOneLineNamingTheDeviceAndTheFileAndLeavesNoPartialCheckpoint() throws Exception {
        Path run = tmp.resolve("run");
        CheckpointStore store = new CheckpointStore(run, 2);
        String device = Files.getFileStore(tmp).name();
        store.save(at(1), Map.of(), "r: 1\n", dir -> Files.writeString(dir.resolve("weights.bin"), "w"));
        // the writer seam: what FileChannel.write throws when the file system is full (ENOSPC)
        BadInputException e = assertThrows(BadInputException.class, () -> store.save(at(2), Map.of(), "r: 1\n", dir -> {
            Path partial = Files.createDirectories(dir.resolve("adapter")).resolve("adapter_model.safetensors");
            Files.write(partial, new byte[100]);
            throw new IOException("No space left on device");
        }));
        assertEquals("no space left on " + device + " while writing "
                + run.resolve(".tmp-checkpoint-000002/adapter/adapter_model.safetensors")
                + " (the partial checkpoint was removed)", e.getMessage());
        assertEquals(List.of("checkpoint-000001"), entries(run), "the earlier checkpoint stays; nothing partial is left");
    }

    @Test
    void otherWriteFailuresStayErrorsWithTheirCause() {
        CheckpointStore store = new CheckpointStore(tmp.resolve("run"), 2);
        var e = assertThrows(java.io.UncheckedIOException.class, () -> store.save(at(1), Map.of(), "", dir -> {
            throw new IOException("Input/output error");
        }));
        assertTrue(e.getMessage().contains("cannot write checkpoint") && e.getMessage().contains("Input/output error"), e.getMessage());
    }

    @Test
    void keepLastKeepsTheNewestAndNothingElse() throws Exception {
        Path run = tmp.resolve("run");
        CheckpointStore store = new CheckpointStore(run, 2);
        Files.createDirectories(run);
        Files.writeString(run.resolve("train.log"), "not a checkpoint");
        for (long step : new long[] {3, 6, 9, 12}) {
            store.save(at(step), Map.of(), "r: 1\n", dir -> Files.writeString(dir.resolve("weights.bin"), "w" + step));
        }
        assertEquals(List.of("checkpoint-000009", "checkpoint-000012", "train.log"), entries(run));
        assertEquals("w12", Files.readString(store.latest().orElseThrow().resolve("weights.bin")));
        assertEquals(12, CheckpointStore.readState(store.latest().orElseThrow()).step());
        // saving a step again (a resumed run) replaces it; the oldest by step is pruned
        store.save(at(12), Map.of(), "r: 2\n", dir -> Files.writeString(dir.resolve("weights.bin"), "again"));
        store.save(at(15), Map.of(), "r: 2\n", dir -> Files.writeString(dir.resolve("weights.bin"), "w15"));
        assertEquals(List.of("checkpoint-000012", "checkpoint-000015", "train.log"), entries(run));
        assertEquals("again", Files.readString(run.resolve("checkpoint-000012/weights.bin")));

        CheckpointStore one = new CheckpointStore(run, 1);
        one.save(at(18), Map.of(), "r: 2\n", dir -> { });
        assertEquals(List.of("checkpoint-000018", "train.log"), entries(run));
    }

    @Test
    void metricsPendingBetweenLogsRoundTripExactly() throws Exception {
        CheckpointStore store = new CheckpointStore(tmp.resolve("run"), 2);
        double sum = 0.1 + 0.2 + 1e-17 * 3; // not a short decimal: it must come back to the last bit
        Map<String, double[]> pending = Map.of("rewards/margins", new double[] {sum, 3}, "logps/chosen", new double[] {-41.25, 2});
        TrainerState s = new TrainerState(3, 0, 6, 7, 0, 0, 30, List.of(0.69, 0.68, 0.67), Double.NaN, 2, pending);
        store.save(s, Map.of(), "r: 1\n", dir -> { });
        TrainerState back = CheckpointStore.readState(store.list().get(0));
        assertEquals(pending.keySet(), back.pendingMetrics().keySet());
        pending.forEach((k, v) -> org.junit.jupiter.api.Assertions.assertArrayEquals(v, back.pendingMetrics().get(k), 0.0, k));
        // a checkpoint written before pending metrics existed reads as none pending
        Path old = Files.createDirectories(tmp.resolve("old"));
        Files.writeString(old.resolve(CheckpointStore.STATE_FILE), "{\"step\": 2, \"epoch\": 0, \"batch\": 4, \"seed\": 7, "
                + "\"losses\": [0.5, 0.4], \"best_eval_loss\": \"NaN\"}");
        assertEquals(Map.of(), CheckpointStore.readState(old).pendingMetrics());
    }
}
