package org.llamawb.finetune.online;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.llamawb.datasets.batch.LoadedBatch;
import org.llamawb.datasets.batch.LoaderPosition;
import org.llamawb.model.BadInputException;

/**
 * The online methods' micro-batch stream: each rollout batch is made once, on its first micro-batch, and serves its
 * passes in the order given; positions carry across epochs; continuing from a checkpoint between rollout batches
 * gives the uninterrupted stream's tail, and from inside one is refused with the recipe keys named.
 */
class RolloutBatchesTest {
    /** Micro-batch labels "index/epoch/inEpoch/k"; every call of the rollout function is recorded. */
    static RolloutBatches<String> stream(LoaderPosition start, List<String> made, RolloutBatches.Order order) {
        return new RolloutBatches<>(start, 3, 2, 2, new RolloutBatches.Names("GRPO", "generation batch",
                "grpo.num_iterations"), (index, epoch, inEpoch) -> {
                    made.add(index + "/" + epoch + "/" + inEpoch);
                    return List.of(index + ":a", index + ":b");
                }, order);
    }

    static List<String> take(RolloutBatches<String> s, int n, List<LoaderPosition> positions) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            LoadedBatch<String> b = s.next();
            out.add(b.batch());
            positions.add(b.next());
        }
        return out;
    }

    @Test
    void eachRolloutBatchIsMadeOnceAndServesItsPasses() {
        List<String> made = new ArrayList<>();
        List<LoaderPosition> next = new ArrayList<>();
        List<String> got = take(stream(LoaderPosition.START, made, RolloutBatches.Order.AS_MADE), 14, next);
        assertEquals(List.of("0:a", "0:b", "0:a", "0:b", "1:a", "1:b", "1:a", "1:b", "2:a", "2:b", "2:a", "2:b",
                "3:a", "3:b"), got);
        assertEquals(List.of("0/0/0", "1/0/1", "2/0/2", "3/1/0"), made, "index over the run, epoch, place in the epoch");
        assertEquals(new LoaderPosition(0, 11), next.get(10));
        assertEquals(new LoaderPosition(1, 0), next.get(11), "12 micro-batches per epoch");
        assertEquals(new LoaderPosition(1, 2), next.get(13));
    }

    @Test
    void theOrderPicksTheMicroBatchOfEachPass() {
        List<String> got = take(stream(LoaderPosition.START, new ArrayList<>(),
                (index, pass, slot) -> pass == 1 ? 1 - slot : slot), 4, new ArrayList<>());
        assertEquals(List.of("0:a", "0:b", "0:b", "0:a"), got);
    }

    @Test
    void continuingBetweenRolloutBatchesGivesTheSameTail() {
        List<String> whole = take(stream(LoaderPosition.START, new ArrayList<>(), RolloutBatches.Order.AS_MADE), 20,
                new ArrayList<>());
        List<String> made = new ArrayList<>();
        // a position past the epoch's end (a checkpoint of an older epoch length) carries into the next epoch
        List<String> tail = take(stream(new LoaderPosition(0, 16), made, RolloutBatches.Order.AS_MADE), 4,
                new ArrayList<>());
        assertEquals(whole.subList(16, 20), tail);
        assertEquals(List.of("4/1/1"), made);
    }

    @Test
    void aPositionInsideARolloutBatchIsRefused() {
        RolloutBatches<String> s = stream(new LoaderPosition(0, 5), new ArrayList<>(), RolloutBatches.Order.AS_MADE);
        BadInputException e = assertThrows(BadInputException.class, s::next);
        assertEquals("cannot continue GRPO at data position epoch 0, batch 5: it lies inside a generation batch whose "
                + "rollouts were not saved (checkpoints at multiples of grpo.num_iterations resume exactly)", e.getMessage());
    }
}
