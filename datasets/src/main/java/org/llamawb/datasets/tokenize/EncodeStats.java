package org.llamawb.datasets.tokenize;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.llamawb.datasets.example.Origin;
import org.llamawb.datasets.source.Problem;

/**
 * Counts of an encoding run: examples in, examples out, truncated, dropped by reason (the first drops
 * kept in full as {@code file:line: reason}), tokens, trained tokens, and the length of every kept
 * sequence (for percentiles).
 */
public final class EncodeStats {
    private static final int KEPT_DROPS = 20;

    private long seen;
    private long kept;
    private long truncated;
    private long tokens;
    private long trainedTokens;
    private long chosenTrained;
    private long rejectedTrained;
    private final Map<DropReason, Long> dropped = new EnumMap<>(DropReason.class);
    private final List<Problem> firstDrops = new ArrayList<>();
    private int[] lengths = new int[256];
    private int lengthCount;

    void offered() {
        seen++;
    }

    void kept(int length, int trained, boolean wasTruncated) {
        kept++;
        tokens += length;
        trainedTokens += trained;
        if (wasTruncated) {
            truncated++;
        }
        if (lengthCount == lengths.length) {
            lengths = Arrays.copyOf(lengths, lengths.length * 2);
        }
        lengths[lengthCount++] = length;
    }

    /**
     * A kept preference pair: both sequences count as tokens ({@code prompt + answer} each), the answers'
     * tokens as trained, chosen and rejected apart; its length is the longer sequence.
     */
    void keptPair(int prompt, int chosen, int rejected, boolean wasTruncated) {
        kept(prompt + Math.max(chosen, rejected), 0, wasTruncated);
        tokens += prompt + Math.min(chosen, rejected); // the other sequence
        trainedTokens += chosen + rejected;
        chosenTrained += chosen;
        rejectedTrained += rejected;
    }

    /** Counts a drop; public so that filters applied around the encoder (duplicates) report here too. */
    public void dropped(DropReason reason, Origin origin, String detail) {
        dropped.merge(reason, 1L, Long::sum);
        if (firstDrops.size() < KEPT_DROPS) {
            firstDrops.add(new Problem(origin, reason.description() + (detail.isEmpty() ? "" : " (" + detail + ")")));
        }
    }

    /** Adds another run's counts to these. */
    public void add(EncodeStats o) {
        seen += o.seen;
        kept += o.kept;
        truncated += o.truncated;
        tokens += o.tokens;
        trainedTokens += o.trainedTokens;
        chosenTrained += o.chosenTrained;
        rejectedTrained += o.rejectedTrained;
        o.dropped.forEach((r, n) -> dropped.merge(r, n, Long::sum));
        for (Problem p : o.firstDrops) {
            if (firstDrops.size() < KEPT_DROPS) {
                firstDrops.add(p);
            }
        }
        for (int i = 0; i < o.lengthCount; i++) {
            if (lengthCount == lengths.length) {
                lengths = Arrays.copyOf(lengths, lengths.length * 2);
            }
            lengths[lengthCount++] = o.lengths[i];
        }
    }

    /** Examples offered to the encoder. */
    public long offeredCount() {
        return seen;
    }

    /** Examples encoded and kept. */
    public long kept() {
        return kept;
    }

    /** Kept examples that lost tokens at max_length. */
    public long truncated() {
        return truncated;
    }

    /** Dropped examples, all reasons. */
    public long droppedTotal() {
        return dropped.values().stream().mapToLong(Long::longValue).sum();
    }

    public Map<DropReason, Long> dropped() {
        return Collections.unmodifiableMap(dropped);
    }

    /** The first drops, as {@code file:line: reason (detail)}. */
    public List<Problem> firstDrops() {
        return Collections.unmodifiableList(firstDrops);
    }

    /** Tokens of the kept sequences (for pairs: both sequences, each with the prompt). */
    public long tokens() {
        return tokens;
    }

    /** Trained tokens of the kept sequences. */
    public long trainedTokens() {
        return trainedTokens;
    }

    /** Trained tokens of the chosen answers of kept pairs. */
    public long chosenTrainedTokens() {
        return chosenTrained;
    }

    /** Trained tokens of the rejected answers of kept pairs. */
    public long rejectedTrainedTokens() {
        return rejectedTrained;
    }

    /** The sequence length at percentile {@code p} in [0, 100] (nearest rank), 0 when nothing was kept. */
    public int lengthPercentile(double p) {
        if (lengthCount == 0) {
            return 0;
        }
        int[] sorted = Arrays.copyOf(lengths, lengthCount);
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(p / 100.0 * lengthCount);
        return sorted[Math.max(0, Math.min(lengthCount - 1, rank - 1))];
    }
}
