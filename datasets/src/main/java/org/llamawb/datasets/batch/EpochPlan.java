package org.llamawb.datasets.batch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.function.IntUnaryOperator;

/**
 * The batches of one epoch, a pure function of (dataset lengths, options, epoch): a batch is a list of
 * rows, a row the list of example indices it holds (one unless packing). Batches hold {@code batchSize}
 * rows except the last one (and, when grouping by length, the last of each sorted group).
 */
final class EpochPlan {
    /** Open rows the packer fills at once: enough for near-full rows, few enough to keep the order random. */
    static final int PACKING_WINDOW = 16;
    /** Examples sorted together when grouping by length, in batches (as Hugging Face's length grouping). */
    static final int MEGABATCH = 50;

    /** batches[b][r] = the example indices of row r of batch b. */
    private final int[][][] batches;

    private EpochPlan(int[][][] batches) {
        this.batches = batches;
    }

    int batches() {
        return batches.length;
    }

    int[][] batch(long b) {
        if (b < 0 || b >= batches.length) {
            throw new IndexOutOfBoundsException("batch " + b + " of " + batches.length);
        }
        return batches[(int) b];
    }

    static EpochPlan of(int size, IntUnaryOperator length, LoaderOptions o, int epoch) {
        Random rng = new Random(o.seed() * 0x9E3779B97F4A7C15L + epoch);
        int[] order = new int[size];
        for (int i = 0; i < size; i++) {
            order[i] = i;
        }
        if (o.shuffle()) {
            shuffle(order, rng);
        }
        if (o.groupByLength() && !o.packing()) {
            return new EpochPlan(groupByLength(order, length, o.batchSize(), rng));
        }
        int[][] rows;
        if (o.packing()) {
            rows = pack(order, length, o.maxLength());
        } else {
            rows = new int[size][];
            for (int i = 0; i < size; i++) {
                rows[i] = new int[] {order[i]};
            }
        }
        int[][][] batches = new int[(rows.length + o.batchSize() - 1) / o.batchSize()][][];
        for (int b = 0; b < batches.length; b++) {
            batches[b] = Arrays.copyOfRange(rows, b * o.batchSize(), Math.min(rows.length, (b + 1) * o.batchSize()));
        }
        return new EpochPlan(batches);
    }

    /** Fisher-Yates with {@link Random#nextInt(int)}, whose sequence the JDK specifies. */
    static void shuffle(int[] a, Random rng) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /**
     * Best-fit packing over a window of open rows, in shuffled order: each example goes to the open row
     * it fills best; when none has room a row is opened, and beyond {@link #PACKING_WINDOW} open rows the
     * oldest is closed. A row that is exactly full closes at once.
     */
    static int[][] pack(int[] order, IntUnaryOperator length, int capacity) {
        List<int[]> closed = new ArrayList<>();
        List<List<Integer>> open = new ArrayList<>();
        List<Integer> used = new ArrayList<>();
        for (int idx : order) {
            int n = length.applyAsInt(idx);
            if (n > capacity) {
                throw new IllegalArgumentException("example " + idx + " has " + n + " tokens, more than the row length "
                        + capacity);
            }
            int best = -1;
            for (int r = 0; r < open.size(); r++) {
                int room = capacity - used.get(r);
                if (room >= n && (best < 0 || room < capacity - used.get(best))) {
                    best = r;
                }
            }
            if (best < 0) {
                if (open.size() == PACKING_WINDOW) {
                    closed.add(toArray(open.remove(0)));
                    used.remove(0);
                }
                open.add(new ArrayList<>());
                used.add(0);
                best = open.size() - 1;
            }
            open.get(best).add(idx);
            used.set(best, used.get(best) + n);
            if (used.get(best) == capacity) {
                closed.add(toArray(open.remove(best)));
                used.remove(best);
            }
        }
        for (List<Integer> row : open) {
            closed.add(toArray(row));
        }
        return closed.toArray(new int[0][]);
    }

    /**
     * Sorts each run of {@link #MEGABATCH} batches' worth of examples by length (longest first), cuts
     * batches from them, and shuffles the batch order: batches hold similar lengths, their order stays random.
     */
    static int[][][] groupByLength(int[] order, IntUnaryOperator length, int batchSize, Random rng) {
        int mega = MEGABATCH * batchSize;
        List<int[][]> batches = new ArrayList<>();
        for (int from = 0; from < order.length; from += mega) {
            Integer[] chunk = new Integer[Math.min(mega, order.length - from)];
            for (int i = 0; i < chunk.length; i++) {
                chunk[i] = order[from + i];
            }
            Arrays.sort(chunk, Comparator.comparingInt((Integer i) -> length.applyAsInt(i)).reversed());
            for (int b = 0; b < chunk.length; b += batchSize) {
                int[][] batch = new int[Math.min(batchSize, chunk.length - b)][];
                for (int k = 0; k < batch.length; k++) {
                    batch[k] = new int[] {chunk[b + k]};
                }
                batches.add(batch);
            }
        }
        int[] batchOrder = new int[batches.size()];
        for (int i = 0; i < batchOrder.length; i++) {
            batchOrder[i] = i;
        }
        shuffle(batchOrder, rng);
        int[][][] out = new int[batchOrder.length][][];
        for (int i = 0; i < out.length; i++) {
            out[i] = batches.get(batchOrder[i]);
        }
        return out;
    }

    private static int[] toArray(List<Integer> l) {
        int[] a = new int[l.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = l.get(i);
        }
        return a;
    }
}
