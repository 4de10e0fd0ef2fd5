package org.llamawb.datasets.batch;

import java.util.Arrays;
import java.util.Iterator;
import java.util.Objects;
import org.llamawb.datasets.tokenize.TokenizedExample;
import org.llamawb.datasets.tokenize.TokenizedPair;

/**
 * Batches of preference pairs in a seeded, resumable order (as {@link DataLoader}; never packed): row
 * {@code i} of the chosen and of the rejected batch hold the same pair, both batches right-padded to the
 * longest of all their sequences.
 */
public final class PairLoader {
    private final PairDataset data;
    private final LoaderOptions options;
    private EpochPlan cached;
    private int cachedEpoch = -1;

    public PairLoader(PairDataset data, LoaderOptions options) {
        this.data = Objects.requireNonNull(data, "data");
        if (options.packing()) {
            throw new IllegalArgumentException("preference pairs are not packed; set packing: false");
        }
        this.options = options;
    }

    public int pairs() {
        return data.size();
    }

    public int batchesInEpoch(int epoch) {
        return plan(epoch).batches();
    }

    public PairBatch batch(int epoch, long index) {
        int[][] rows = plan(epoch).batch(index);
        int t = 0;
        for (int[] row : rows) {
            t = Math.max(t, data.length(row[0]));
        }
        int b = rows.length;
        int[][] cIds = new int[b][t];
        int[][] cLabels = new int[b][t];
        int[][] rIds = new int[b][t];
        int[][] rLabels = new int[b][t];
        long cReal = 0;
        long rReal = 0;
        for (int r = 0; r < b; r++) {
            TokenizedPair p = data.get(rows[r][0]);
            cReal += fill(cIds[r], cLabels[r], p.chosenInputIds(), p.chosenLabels());
            rReal += fill(rIds[r], rLabels[r], p.rejectedInputIds(), p.rejectedLabels());
        }
        return new PairBatch(new Batch(cIds, cLabels, null, null, b, cReal), new Batch(rIds, rLabels, null, null, b, rReal));
    }

    private int fill(int[] ids, int[] labels, int[] srcIds, int[] srcLabels) {
        Arrays.fill(ids, options.padId());
        Arrays.fill(labels, TokenizedExample.IGNORE);
        System.arraycopy(srcIds, 0, ids, 0, srcIds.length);
        System.arraycopy(srcLabels, 0, labels, 0, srcLabels.length);
        return srcIds.length;
    }

    /** The batches from {@code start} on, crossing into the next epochs without end. */
    public Iterator<LoadedBatch<PairBatch>> from(LoaderPosition start) {
        if (data.size() == 0) {
            throw new IllegalStateException("the dataset is empty");
        }
        return new Iterator<>() {
            private LoaderPosition at = normalise(start);

            @Override
            public boolean hasNext() {
                return true;
            }

            @Override
            public LoadedBatch<PairBatch> next() {
                LoaderPosition here = at;
                PairBatch b = batch(here.epoch(), here.batch());
                at = normalise(new LoaderPosition(here.epoch(), here.batch() + 1));
                return new LoadedBatch<>(b, here, at);
            }
        };
    }

    private LoaderPosition normalise(LoaderPosition p) {
        LoaderPosition q = p;
        while (q.batch() >= batchesInEpoch(q.epoch())) {
            q = new LoaderPosition(q.epoch() + 1, q.batch() - batchesInEpoch(q.epoch()));
        }
        return q;
    }

    private synchronized EpochPlan plan(int epoch) {
        if (epoch != cachedEpoch) {
            cached = EpochPlan.of(data.size(), data::length, options, epoch);
            cachedEpoch = epoch;
        }
        return cached;
    }
}
