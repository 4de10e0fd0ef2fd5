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
 * id and origin of each example for reports. Append-only; indices are stable.
 */
public final class TokenizedDataset {
    private int[] tokens = new int[1 << 12];
    private final BitSet trained = new BitSet();
    private long[] starts = new long[64];
    private int size;
    private long used;
    private final List<String> ids = new ArrayList<>();
    private final List<Origin> origins = new ArrayList<>();

    /** Appends an example; returns its index. */
    public int add(TokenizedExample e) {
        int n = e.length();
        if (used + n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("more than 2^31 tokens do not fit in one in-memory dataset");
        }
        if (used + n > tokens.length) {
            tokens = Arrays.copyOf(tokens, (int) Math.min(Integer.MAX_VALUE - 8, Math.max(used + n, 2L * tokens.length)));
        }
        if (size + 1 >= starts.length) {
            starts = Arrays.copyOf(starts, starts.length * 2);
        }
        System.arraycopy(e.inputIds(), 0, tokens, (int) used, n);
        for (int i = 0; i < n; i++) {
            if (e.labels()[i] != TokenizedExample.IGNORE) {
                trained.set((int) used + i);
            }
        }
        starts[size] = used;
        used += n;
        starts[size + 1] = used;
        ids.add(e.id());
        origins.add(e.origin());
        return size++;
    }

    public int size() {
        return size;
    }

    public int length(int i) {
        check(i);
        return (int) (starts[i + 1] - starts[i]);
    }

    /** All tokens of all examples. */
    public long totalTokens() {
        return used;
    }

    public int[] inputIds(int i) {
        check(i);
        return Arrays.copyOfRange(tokens, (int) starts[i], (int) starts[i + 1]);
    }

    public int[] labels(int i) {
        check(i);
        int s = (int) starts[i];
        int[] out = new int[length(i)];
        for (int k = 0; k < out.length; k++) {
            out[k] = trained.get(s + k) ? tokens[s + k] : TokenizedExample.IGNORE;
        }
        return out;
    }

    /** Copies example {@code i} into row buffers at {@code offset}. */
    void copyTo(int i, int[] ids, int[] labels, int offset) {
        int s = (int) starts[i];
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
