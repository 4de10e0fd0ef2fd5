package org.llamawb.datasets.batch;

import java.util.Arrays;
import java.util.Iterator;
import java.util.Objects;
import org.llamawb.datasets.tokenize.TokenizedExample;

/**
 * Batches of supervised sequences in a seeded order, epoch after epoch, resumable at any
 * {@link LoaderPosition}. Each epoch's order (and packing) depends only on the dataset, the options and
 * the epoch number, so {@code batch(epoch, i)} is the same in every run and after every restart.
 *
 * <p>Rows are right-padded to the longest row of their batch with {@code padId} (label
 * {@link TokenizedExample#IGNORE}). Packed rows carry position ids restarting at 0 for each example and
 * a segment id per token (the example's index within the row; the padding tail has the next index), and
 * the first token of every packed example is not trained, so no loss term predicts one example from
 * another.
 */
public final class DataLoader {
    private final TokenizedDataset data;
    private final LoaderOptions options;
    private EpochPlan cached;
    private int cachedEpoch = -1;

    public DataLoader(TokenizedDataset data, LoaderOptions options) {
        this.data = Objects.requireNonNull(data, "data");
        this.options = Objects.requireNonNull(options, "options");
        if (options.packing()) {
            for (int i = 0; i < data.size(); i++) {
                if (data.length(i) > options.maxLength()) {
                    throw new IllegalArgumentException("example " + data.origin(i) + " has " + data.length(i)
                            + " tokens, more than the packed row length " + options.maxLength());
                }
            }
        }
    }

    public LoaderOptions options() {
        return options;
    }

    public int examples() {
        return data.size();
    }

    /** Batches in {@code epoch} (packing may give a slightly different count each epoch). */
    public int batchesInEpoch(int epoch) {
        return plan(epoch).batches();
    }

    /** Batch {@code index} of {@code epoch}. */
    public Batch batch(int epoch, long index) {
        return build(plan(epoch).batch(index));
    }

    /** The batches from {@code start} on, crossing into the next epochs without end. */
    public Iterator<LoadedBatch<Batch>> from(LoaderPosition start) {
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
            public LoadedBatch<Batch> next() {
                LoaderPosition here = at;
                Batch b = batch(here.epoch(), here.batch());
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

    /** Padding and packing efficiency of {@code epoch}'s batches (computed from the plan, nothing built). */
    public BatchEfficiency efficiency(int epoch) {
        EpochPlan plan = plan(epoch);
        long rows = 0;
        long examples = 0;
        long real = 0;
        long slots = 0;
        long trained = 0;
        for (int b = 0; b < plan.batches(); b++) {
            int[][] batch = plan.batch(b);
            int longest = 0;
            for (int[] row : batch) {
                int n = 0;
                for (int idx : row) {
                    n += data.length(idx);
                    trained += trainedIn(idx, options.packing());
                }
                examples += row.length;
                real += n;
                longest = Math.max(longest, n);
            }
            rows += batch.length;
            slots += (long) longest * batch.length;
        }
        return new BatchEfficiency(plan.batches(), rows, examples, real, slots, trained);
    }

    private long trainedIn(int idx, boolean packed) {
        int[] labels = data.labels(idx);
        long n = 0;
        for (int k = packed ? 1 : 0; k < labels.length; k++) {
            if (labels[k] != TokenizedExample.IGNORE) {
                n++;
            }
        }
        return n;
    }

    private synchronized EpochPlan plan(int epoch) {
        if (epoch != cachedEpoch) {
            cached = EpochPlan.of(data.size(), data::length, options, epoch);
            cachedEpoch = epoch;
        }
        return cached;
    }

    private Batch build(int[][] rows) {
        int t = 0;
        int examples = 0;
        long real = 0;
        for (int[] row : rows) {
            int n = 0;
            for (int idx : row) {
                n += data.length(idx);
            }
            t = Math.max(t, n);
            examples += row.length;
            real += n;
        }
        int b = rows.length;
        int[][] ids = new int[b][t];
        int[][] labels = new int[b][t];
        int[][] positions = options.packing() ? new int[b][t] : null;
        int[][] segments = options.packing() ? new int[b][t] : null;
        for (int r = 0; r < b; r++) {
            Arrays.fill(ids[r], options.padId());
            Arrays.fill(labels[r], TokenizedExample.IGNORE);
            int offset = 0;
            for (int k = 0; k < rows[r].length; k++) {
                int idx = rows[r][k];
                int n = data.length(idx);
                data.copyTo(idx, ids[r], labels[r], offset);
                if (options.packing()) {
                    labels[r][offset] = TokenizedExample.IGNORE; // never predicted from the previous example
                    for (int j = 0; j < n; j++) {
                        positions[r][offset + j] = j;
                        segments[r][offset + j] = k;
                    }
                }
                offset += n;
            }
            if (options.packing()) {
                for (int j = offset; j < t; j++) {
                    positions[r][j] = j - offset;
                    segments[r][j] = rows[r].length;
                }
            }
        }
        return new Batch(ids, labels, positions, segments, examples, real);
    }
}
