package org.llamawb.datasets.batch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import org.llamawb.datasets.example.Origin;
import org.llamawb.datasets.tokenize.TokenizedExample;

/**
 * Supervised sequences held compactly: all token ids in one growing {@code int[]}, the trained flags in
 * a {@link BitSet} (a label is the id where trained, {@link TokenizedExample#IGNORE} elsewhere), and the
 * id and origin of each example for reports. Append-only; indices are stable. {@link #select} gives
 * read-only subsets and repetitions (mixtures) without copying tokens.
 */
public final class TokenizedDataset {
    private int[] tokens;
    private final BitSet trained;
    /** Example i is tokens[starts[i], starts[i] + lengths[i]). */
    private int[] starts = new int[64];
    private int[] lengths = new int[64];
    private int size;
    private long used;
    private long viewTokens;
    private final List<String> ids;
    private final List<Origin> origins;
    private final boolean view;

    public TokenizedDataset() {
        tokens = new int[1 << 12];
        trained = new BitSet();
        ids = new ArrayList<>();
        origins = new ArrayList<>();
        view = false;
    }

    private TokenizedDataset(TokenizedDataset base, int[] select) {
        tokens = base.tokens;
        trained = base.trained;
        starts = new int[select.length];
        lengths = new int[select.length];
        ids = new ArrayList<>(select.length);
        origins = new ArrayList<>(select.length);
        for (int k = 0; k < select.length; k++) {
            int i = select[k];
            base.check(i);
            starts[k] = base.starts[i];
            lengths[k] = base.lengths[i];
            viewTokens += lengths[k];
            ids.add(base.ids.get(i));
            origins.add(base.origins.get(i));
        }
        size = select.length;
        view = true;
    }

    /**
     * A read-only dataset of the examples {@code select} names, in that order (an index may repeat:
     * that is how a mixture weight above 1 repeats a source). Shares this dataset's token storage, so
     * nothing may be added here afterwards.
     */
    public TokenizedDataset select(int[] select) {
        return new TokenizedDataset(this, select);
    }

    /** Appends an example; returns its index. */
    public int add(TokenizedExample e) {
        if (view) {
            throw new IllegalStateException("a selection of a dataset is read-only");
        }
        int n = e.length();
        if (used + n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("more than 2^31 tokens do not fit in one in-memory dataset");
        }
        if (used + n > tokens.length) {
            tokens = Arrays.copyOf(tokens, (int) Math.min(Integer.MAX_VALUE - 8, Math.max(used + n, 2L * tokens.length)));
        }
        if (size == starts.length) {
            starts = Arrays.copyOf(starts, size * 2);
            lengths = Arrays.copyOf(lengths, size * 2);
        }
        System.arraycopy(e.inputIds(), 0, tokens, (int) used, n);
        for (int i = 0; i < n; i++) {
            if (e.labels()[i] != TokenizedExample.IGNORE) {
                trained.set((int) used + i);
            }
        }
        starts[size] = (int) used;
        lengths[size] = n;
        used += n;
        ids.add(e.id());
        origins.add(e.origin());
        return size++;
    }

    public int size() {
        return size;
    }

    public int length(int i) {
        check(i);
        return lengths[i];
    }

    /** All tokens of all examples (repeats counted). */
    public long totalTokens() {
        return view ? viewTokens : used;
    }

    public int[] inputIds(int i) {
        check(i);
        return Arrays.copyOfRange(tokens, starts[i], starts[i] + lengths[i]);
    }

    public int[] labels(int i) {
        check(i);
        int s = starts[i];
        int[] out = new int[length(i)];
        for (int k = 0; k < out.length; k++) {
            out[k] = trained.get(s + k) ? tokens[s + k] : TokenizedExample.IGNORE;
        }
        return out;
    }

    /** Copies example {@code i} into row buffers at {@code offset}. */
    void copyTo(int i, int[] ids, int[] labels, int offset) {
        int s = starts[i];
        int n = length(i);
        System.arraycopy(tokens, s, ids, offset, n);
        for (int k = 0; k < n; k++) {
            labels[offset + k] = trained.get(s + k) ? tokens[s + k] : TokenizedExample.IGNORE;
        }
    }

    public TokenizedExample get(int i) {
        return new TokenizedExample(ids.get(i), origins.get(i), inputIds(i), labels(i), false);
    }

    public Origin origin(int i) {
        check(i);
        return origins.get(i);
    }

    private void check(int i) {
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException("example " + i + " of " + size);
        }
    }
}
