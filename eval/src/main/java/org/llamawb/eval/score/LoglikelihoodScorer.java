package org.llamawb.eval.score;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.nio.IntBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;
import org.llamawb.model.Masks;

/**
 * Scores log-likelihood requests in batches: for each request, the sum of the log-probabilities of its
 * continuation tokens and whether each was the argmax, computed on the tokens lm-evaluation-harness feeds
 * the model (the last {@code maxLength + 1} tokens of context + continuation, without the final one).
 *
 * <p>With {@link Packing#TREE}, requests whose model input starts with the same prefix (the choices of one
 * question) share one row, so the context runs through the model once per question; the tree-shaped
 * mask and per-tail positions make every logit equal to that of the request run alone. Rows are sorted
 * longest first and grouped into batches under a token budget; the LM head runs only on the positions
 * that predict a continuation token.
 */
public final class LoglikelihoodScorer {
    private final Llama model;
    private final ScoringOptions options;
    private long tokensThroughModel;

    public LoglikelihoodScorer(Llama model, ScoringOptions options) {
        this.model = model;
        this.options = options;
    }

    public ScoringOptions options() {
        return options;
    }

    /** Token slots (rows × width, padding included) run through the model so far: the cost measure. */
    public long tokensThroughModel() {
        return tokensThroughModel;
    }

    /** One result per request, in the order given. */
    public List<Loglikelihood> score(List<EncodedRequest> requests) {
        return score(requests, n -> { });
    }

    /** As {@link #score(List)}, telling {@code onScored} how many requests each batch finished (for progress). */
    public List<Loglikelihood> score(List<EncodedRequest> requests, LongConsumer onScored) {
        List<PackedRow> rows = pack(requests);
        rows.sort(Comparator.comparingInt(PackedRow::length).reversed());
        Loglikelihood[] out = new Loglikelihood[requests.size()];
        try (NDManager m = model.manager().newSubManager()) {
            int i = 0;
            while (i < rows.size()) {
                int width = rows.get(i).length();
                int n = 1;
                while (i + n < rows.size() && n < options.maxRows() && (long) (n + 1) * width <= options.batchTokens()) {
                    n++;
                }
                runBatch(rows.subList(i, i + n), width, m, out);
                onScored.accept(rows.subList(i, i + n).stream().mapToLong(r -> r.members.size()).sum());
                i += n;
            }
        }
        return Arrays.asList(out);
    }

    private List<PackedRow> pack(List<EncodedRequest> requests) {
        Map<PrefixKey, PackedRow> byPrefix = new LinkedHashMap<>();
        List<PackedRow> rows = new ArrayList<>();
        for (int r = 0; r < requests.size(); r++) {
            EncodedRequest req = requests.get(r);
            if (req.continuationLength() > options.maxLength()) {
                throw new BadInputException("a continuation of " + req.continuationLength()
                        + " tokens does not fit the model window of " + options.maxLength() + " tokens (max_length)");
            }
            int[] window = req.window(options.maxLength());
            int[] prefix = Arrays.copyOf(window, window.length - (req.continuationLength() - 1));
            PackedRow row;
            if (options.packing() == Packing.TREE) {
                row = byPrefix.computeIfAbsent(new PrefixKey(prefix), k -> {
                    PackedRow p = new PackedRow(prefix);
                    rows.add(p);
                    return p;
                });
            } else {
                row = new PackedRow(prefix);
                rows.add(row);
            }
            row.add(r, req);
        }
        return rows;
    }

    private void runBatch(List<PackedRow> batch, int width, NDManager m, Loglikelihood[] out) {
        int b = batch.size();
        long[] tokens = new long[b * width];
        long[] positions = new long[b * width];
        long[] segments = new long[b * width];
        Arrays.fill(segments, -1); // padding: a segment of its own
        boolean shared = false;
        int predictions = 0;
        for (int r = 0; r < b; r++) {
            PackedRow row = batch.get(r);
            row.fill(r, width, tokens, positions, segments);
            shared |= row.members.size() > 1;
            for (PackedRow.Member mem : row.members) {
                predictions += mem.encoded().continuationLength();
            }
        }
        long[] slots = new long[predictions]; // flat [B*T] index of the slot predicting each token
        long[] targets = new long[predictions];
        int k = 0;
        for (int r = 0; r < b; r++) {
            PackedRow row = batch.get(r);
            for (PackedRow.Member mem : row.members) {
                for (int t = 0; t < mem.encoded().continuationLength(); t++) {
                    slots[k] = (long) r * width + row.predictingSlot(mem, t);
                    targets[k] = mem.encoded().continuationAt(t);
                    k++;
                }
            }
        }
        TokenLogprobs.Result res;
        try (NDScope scope = new NDScope()) {
            // without shared rows every row is one right-padded request: plain causal attention is exact
            NDArray mask = shared ? treeMask(m.create(segments, new Shape(b, width))) : null;
            res = TokenLogprobs.compute(model, m, tokens, b, width, positions, mask, slots, targets);
        }
        float[] logprobs = res.logprobs();
        long[] argmax = res.argmax();
        tokensThroughModel += (long) b * width;
        k = 0;
        for (PackedRow row : batch) {
            for (PackedRow.Member mem : row.members) {
                double sum = 0;
                boolean greedy = true;
                for (int t = 0; t < mem.encoded().continuationLength(); t++) {
                    sum += logprobs[k];
                    greedy &= argmax[k] == targets[k];
                    k++;
                }
                out[mem.request()] = new Loglikelihood(sum, greedy);
            }
        }
    }

    /**
     * {@code [B, 1, T, T]}: query i may attend key j iff {@code j <= i} and key j is in the shared prefix
     * (segment 0) or in the query's own segment. Padding (segment -1) sees the prefix and itself.
     */
    static NDArray treeMask(NDArray segments) {
        long t = segments.getShape().get(1);
        NDArray keys = segments.expandDims(1); // [B, 1, T]
        NDArray queries = segments.expandDims(2); // [B, T, 1]
        NDArray visible = keys.eq(0).logicalOr(keys.eq(queries)); // [B, T, T]
        NDArray causal = Masks.causal(segments.getManager(), t, t).squeeze(0); // [1, T, T]
        return visible.logicalAnd(causal).expandDims(1);
    }

    /** Value-equality wrapper of a token array, for grouping requests by prefix. */
    private record PrefixKey(int[] ids) {
        @Override
        public boolean equals(Object o) {
            return o instanceof PrefixKey p && Arrays.equals(p.ids, ids);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(ids);
        }

        @Override
        public String toString() {
            return IntBuffer.wrap(ids).toString();
        }
    }
}
