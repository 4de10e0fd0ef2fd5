package org.llamawb.datasets.mix;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.llamawb.datasets.source.Problem;
import org.llamawb.datasets.tokenize.DropReason;
import org.llamawb.datasets.tokenize.EncodeStats;

/** The data preparation's account: per source and in total. Nothing is dropped without appearing here. */
public record DataReport(List<SourceReport> sources, EncodeStats total, long train, long validation) {
    public DataReport {
        sources = List.copyOf(sources);
    }

    /** Records skipped while reading, all sources. */
    public long skippedRecords() {
        return sources.stream().mapToLong(s -> s.reads().problems()).sum();
    }

    /** Human-readable lines for logs and the CLI. */
    public List<String> lines() {
        List<String> out = new ArrayList<>();
        for (SourceReport s : sources) {
            out.add(String.format(Locale.ROOT, "%s (%s, weight %s): %d records, %d skipped, %d examples encoded,"
                            + " %d truncated, %d dropped; %d train (%d per epoch), %d validation",
                    s.file(), s.format() == null ? "empty" : s.format().wireName(), s.source().weight(),
                    s.reads().records(), s.reads().problems(), s.encoding().kept(), s.encoding().truncated(),
                    s.encoding().droppedTotal(), s.train(), s.weightedTrain(), s.validation()));
            s.reads().detection().ifPresent(d -> out.add("  " + d));
            for (Map.Entry<String, Long> e : s.reads().skippedByReason().entrySet()) {
                out.add("  skipped " + e.getValue() + ": " + e.getKey());
            }
            for (Map.Entry<DropReason, Long> e : s.encoding().dropped().entrySet()) {
                out.add("  dropped " + e.getValue() + ": " + e.getKey().description());
            }
        }
        out.add(String.format(Locale.ROOT, "total: %d train examples per epoch, %d validation, %d tokens (%d trained),"
                        + " length p50 %d p90 %d p99 %d max %d", train, validation, total.tokens(), total.trainedTokens(),
                total.lengthPercentile(50), total.lengthPercentile(90), total.lengthPercentile(99),
                total.lengthPercentile(100)));
        return out;
    }

    /** The first problems of all sources: skipped records, then drops, as {@code file:line: reason}. */
    public List<Problem> firstProblems(int max) {
        List<Problem> out = new ArrayList<>();
        for (SourceReport s : sources) {
            for (Problem p : s.reads().firstProblems()) {
                if (out.size() < max) {
                    out.add(p);
                }
            }
        }
        for (SourceReport s : sources) {
            for (Problem p : s.encoding().firstDrops()) {
                if (out.size() < max) {
                    out.add(p);
                }
            }
        }
        return out;
    }
}
