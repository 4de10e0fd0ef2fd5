package org.llamawb.datasets.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.llamawb.datasets.example.Origin;
import org.llamawb.datasets.tokenize.TokenizedExample;

/**
 * Packing boundaries, padding, length grouping, seeded order and exact resume, on synthetic examples
 * whose every token id names its example ({@code 1000 * example + position}).
 */
class DataLoaderTest {
    static final int PAD = 0;

    /** {@code n} examples of lengths 3..maxLen; the first half of each is prompt (not trained). */
    static TokenizedDataset synthetic(int n, int maxLen, long seed) {
        Random rng = new Random(seed);
        TokenizedDataset d = new TokenizedDataset();
        for (int i = 0; i < n; i++) {
            int len = 3 + rng.nextInt(maxLen - 2);
            int[] ids = new int[len];
            int[] labels = new int[len];
            for (int k = 0; k < len; k++) {
                ids[k] = 1000 * (i + 1) + k;
                labels[k] = k < len / 2 ? TokenizedExample.IGNORE : ids[k];
            }
            d.add(new TokenizedExample("e" + i, new Origin("syn", i + 1), ids, labels, false));
        }
        return d;
    }

    static int exampleOf(int id) {
        return id / 1000 - 1;
    }

    @Test
    void packedRowsKeepEveryExampleWholeWithRestartingPositionsAndOwnSegments() {
        TokenizedDataset d = synthetic(300, 60, 1);
        DataLoader loader = new DataLoader(d, new LoaderOptions(4, 128, true, false, true, 7, PAD));
        int[] seen = new int[d.size()];
        for (int b = 0; b < loader.batchesInEpoch(0); b++) {
            Batch batch = loader.batch(0, b);
            assertTrue(batch.packed());
            assertTrue(batch.length() <= 128);
            for (int r = 0; r < batch.rows(); r++) {
                int[] ids = batch.inputIds()[r];
                int[] labels = batch.labels()[r];
                int[] pos = batch.positionIds()[r];
                int[] seg = batch.segmentIds()[r];
                int t = 0;
                int k = 0;
                while (t < ids.length && ids[t] != PAD) {
                    int e = exampleOf(ids[t]);
                    seen[e]++;
                    int[] expectIds = d.inputIds(e);
                    int[] expectLabels = d.labels(e);
                    for (int j = 0; j < expectIds.length; j++, t++) {
                        assertEquals(expectIds[j], ids[t], "example tokens stay contiguous and in order");
                        assertEquals(j, pos[t], "positions restart at 0 for each example");
                        assertEquals(k, seg[t], "one segment id per example");
                        assertEquals(j == 0 ? TokenizedExample.IGNORE : expectLabels[j], labels[t],
                                "labels as the example's, except its first token");
                    }
                    k++;
                }
                for (; t < ids.length; t++) {
                    assertEquals(PAD, ids[t]);
                    assertEquals(TokenizedExample.IGNORE, labels[t]);
                    assertEquals(k, seg[t], "padding is a segment of its own");
                }
            }
        }
        for (int e = 0; e < d.size(); e++) {
            assertEquals(1, seen[e], "example " + e + " appears exactly once per epoch");
        }
    }

    /**
     * What attention sees: with the mask "key j visible from query i iff j <= i and segment[j] ==
     * segment[i]", each packed token sees exactly its own example's earlier tokens at the positions it
     * would have alone, and no loss term predicts a token of one example from another.
     */
    @Test
    void attentionThroughSegmentIdsNeverCrossesExamples() {
        TokenizedDataset d = synthetic(200, 40, 2);
        DataLoader loader = new DataLoader(d, new LoaderOptions(2, 96, true, false, true, 3, PAD));
        Batch batch = loader.batch(0, 0);
        for (int r = 0; r < batch.rows(); r++) {
            int[] ids = batch.inputIds()[r];
            int[] seg = batch.segmentIds()[r];
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] == PAD) {
                    continue;
                }
                List<Integer> visible = new ArrayList<>();
                for (int j = 0; j <= i; j++) {
                    if (seg[j] == seg[i]) {
                        visible.add(ids[j]);
                    }
                }
                int e = exampleOf(ids[i]);
                int p = batch.positionIds()[r][i];
                List<Integer> alone = new ArrayList<>();
                for (int j = 0; j <= p; j++) {
                    alone.add(d.inputIds(e)[j]);
                }
                assertEquals(alone, visible, "token " + i + " of row " + r);
            }
            // Shifted loss: logits at t predict labels[t + 1]; across a boundary the target is never trained.
            for (int t = 0; t + 1 < ids.length; t++) {
                if (seg[t] != seg[t + 1]) {
                    assertEquals(TokenizedExample.IGNORE, batch.labels()[r][t + 1]);
                }
            }
        }
    }

    @Test
    void paddedRowsHoldOneExampleEachAndNoPositionOrSegmentIds() {
        TokenizedDataset d = synthetic(10, 20, 3);
        DataLoader loader = new DataLoader(d, new LoaderOptions(4, 64, false, false, false, 0, PAD));
        assertEquals(3, loader.batchesInEpoch(0));
        Batch b = loader.batch(0, 2);
        assertEquals(2, b.rows(), "the last batch holds the remainder");
        assertNull(b.positionIds());
        assertNull(b.segmentIds());
        assertEquals(Math.max(d.length(8), d.length(9)), b.length(), "padded to the longest row of the batch");
        assertArrayEquals(d.inputIds(8), Arrays.copyOf(b.inputIds()[0], d.length(8)), "unshuffled order kept");
        assertArrayEquals(d.labels(9), Arrays.copyOf(b.labels()[1], d.length(9)));
        assertEquals(d.length(8) + d.length(9), b.realTokens());
    }

    @Test
    void orderIsSeededPerEpochAndReproducible() {
        TokenizedDataset d = synthetic(50, 20, 4);
        LoaderOptions o = new LoaderOptions(5, 64, false, false, true, 11, PAD);
        DataLoader a = new DataLoader(d, o);
        DataLoader b = new DataLoader(d, o);
        DataLoader other = new DataLoader(d, new LoaderOptions(5, 64, false, false, true, 12, PAD));
        assertArrayEquals(a.batch(1, 3).inputIds(), b.batch(1, 3).inputIds());
        assertNotEquals(Arrays.deepToString(a.batch(0, 0).inputIds()), Arrays.deepToString(a.batch(1, 0).inputIds()));
        assertNotEquals(Arrays.deepToString(a.batch(0, 0).inputIds()), Arrays.deepToString(other.batch(0, 0).inputIds()));
    }

    @Test
    void resumingFromASavedPositionGivesExactlyTheRemainingBatchesAcrossEpochs() {
        TokenizedDataset d = synthetic(60, 30, 5);
        LoaderOptions o = new LoaderOptions(4, 64, true, false, true, 99, PAD);
        DataLoader loader = new DataLoader(d, o);
        int perEpoch = loader.batchesInEpoch(0);
        List<String> straight = new ArrayList<>();
        List<LoaderPosition> positions = new ArrayList<>();
        Iterator<LoadedBatch<Batch>> it = loader.from(LoaderPosition.START);
        LoaderPosition saved = null;
        for (int i = 0; i < 3 * perEpoch; i++) {
            LoadedBatch<Batch> lb = it.next();
            straight.add(Arrays.deepToString(lb.batch().inputIds()));
            positions.add(lb.position());
            if (i == perEpoch + 1) {
                saved = lb.next();
            }
        }
        assertEquals(new LoaderPosition(0, perEpoch - 1), positions.get(perEpoch - 1));
        assertEquals(new LoaderPosition(1, 0), positions.get(perEpoch), "the epoch rolls over");
        assertEquals(new LoaderPosition(1, 2), saved);
        assertEquals(saved, positions.get(perEpoch + 2));
        Iterator<LoadedBatch<Batch>> resumed = new DataLoader(d, o).from(saved);
        for (int i = perEpoch + 2; i < 3 * perEpoch; i++) {
            assertEquals(straight.get(i), Arrays.deepToString(resumed.next().batch().inputIds()), "batch " + i);
        }
        assertEquals("epoch 1, batch 2", saved.toString());
    }

    @Test
    void lengthGroupingCutsPaddingAndPackingCutsItFurther() {
        TokenizedDataset d = synthetic(2000, 200, 6);
        BatchEfficiency random = new DataLoader(d, new LoaderOptions(8, 256, false, false, true, 1, PAD)).efficiency(0);
        BatchEfficiency grouped = new DataLoader(d, new LoaderOptions(8, 256, false, true, true, 1, PAD)).efficiency(0);
        BatchEfficiency packed = new DataLoader(d, new LoaderOptions(8, 256, true, false, true, 1, PAD)).efficiency(0);
        assertEquals(d.totalTokens(), random.realTokens());
        assertEquals(d.totalTokens(), grouped.realTokens());
        assertEquals(d.totalTokens(), packed.realTokens());
        assertEquals(2000, grouped.examples());
        assertEquals(250, grouped.batches());
        assertTrue(random.fill() < 0.7, random.toString());
        assertTrue(grouped.fill() > 0.95, grouped.toString());
        assertTrue(packed.fill() > 0.9, packed.toString());
        assertTrue(packed.examplesPerRow() > 2, packed.toString());
        assertEquals(random.trainedTokens(), grouped.trainedTokens());
        assertEquals(random.trainedTokens(), packed.trainedTokens(), "no synthetic example trains its first token");
        // Every grouped batch holds examples of similar length.
        DataLoader g = new DataLoader(d, new LoaderOptions(8, 256, false, true, true, 1, PAD));
        Map<Integer, Integer> seen = new HashMap<>();
        for (int b = 0; b < g.batchesInEpoch(0); b++) {
            for (int[] row : g.batch(0, b).inputIds()) {
                seen.merge(exampleOf(row[0]), 1, Integer::sum);
            }
        }
        assertEquals(2000, seen.size());
    }

    @Test
    void anExampleLongerThanThePackedRowIsRefused() {
        TokenizedDataset d = synthetic(5, 40, 7);
        assertThrows(IllegalArgumentException.class, () -> new DataLoader(d, new LoaderOptions(2, 10, true, false, true, 0, PAD)));
        assertThrows(IllegalArgumentException.class, () -> new LoaderOptions(2, 10, true, true, true, 0, PAD));
    }
}
