package org.llamawb.datasets.inspect;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.llamawb.datasets.source.DataFormat;
import org.llamawb.datasets.source.Problem;
import org.llamawb.datasets.source.ReadCounts;
import org.llamawb.datasets.tokenize.DropReason;
import org.llamawb.datasets.tokenize.EncodeStats;

/**
 * What {@code workbench data inspect|validate} found in one file.
 *
 * @param shown the first examples rendered with their trained text marked
 * @param reads records read and skipped
 * @param encoding supervised sequences (conversations, or preference pairs) encoded, truncated, dropped
 * @param prompts prompt-only examples (nothing to train; shown with the generation prompt)
 */
public record Inspection(Path file, DataFormat format, String template, List<String> shown, ReadCounts reads,
        EncodeStats encoding, long prompts) {

    /** Drops that mean the file or the template is wrong (not the length settings). */
    private static final Set<DropReason> ERRORS = Set.of(DropReason.TEMPLATE_ERROR, DropReason.PROMPTS_DIFFER,
            DropReason.NOT_TRAINABLE);

    public Inspection {
        shown = List.copyOf(shown);
    }

    /** Bad records and examples the template cannot train on, as {@code file:line: reason}. */
    public List<Problem> problems(int max) {
        List<Problem> out = new ArrayList<>();
        for (Problem p : reads.firstProblems()) {
            if (out.size() < max) {
                out.add(p);
            }
        }
        for (Problem p : encoding.firstDrops()) {
            if (out.size() < max && ERRORS.stream().anyMatch(r -> p.reason().startsWith(r.description()))) {
                out.add(p);
            }
        }
        return out;
    }

    /** Bad records plus unusable examples, all of them (not only the first kept in full). */
    public long problemCount() {
        long n = reads.problems();
        for (DropReason r : ERRORS) {
            n += encoding.dropped().getOrDefault(r, 0L);
        }
        return n;
    }

    /** The statistics lines. */
    public List<String> statistics() {
        List<String> out = new ArrayList<>();
        out.add(String.format(Locale.ROOT, "file: %s (%s), template %s", file, format == null ? "no records" : format.wireName(),
                template));
        out.add(String.format(Locale.ROOT, "records: %d read, %d skipped", reads.records(), reads.problems()));
        for (Map.Entry<String, Long> e : reads.skippedByReason().entrySet()) {
            out.add("  skipped " + e.getValue() + ": " + e.getKey());
        }
        out.add(String.format(Locale.ROOT, "examples: %d encoded, %d truncated, %d dropped%s", encoding.kept(),
                encoding.truncated(), encoding.droppedTotal(), prompts > 0 ? ", " + prompts + " prompts" : ""));
        for (Map.Entry<DropReason, Long> e : encoding.dropped().entrySet()) {
            out.add("  dropped " + e.getValue() + ": " + e.getKey().description());
        }
        if (encoding.kept() > 0) {
            out.add(String.format(Locale.ROOT, "tokens per example: p50 %d, p90 %d, p99 %d, max %d",
                    encoding.lengthPercentile(50), encoding.lengthPercentile(90), encoding.lengthPercentile(99),
                    encoding.lengthPercentile(100)));
            out.add(String.format(Locale.ROOT, "tokens: %d, trained %d (%.1f%%)", encoding.tokens(),
                    encoding.trainedTokens(), 100.0 * encoding.trainedTokens() / Math.max(1, encoding.tokens())));
            if (encoding.chosenTrainedTokens() + encoding.rejectedTrainedTokens() > 0) {
                out.add(String.format(Locale.ROOT, "  of which chosen %d, rejected %d (pairs: both sequences counted)",
                        encoding.chosenTrainedTokens(), encoding.rejectedTrainedTokens()));
            }
        }
        reads.detection().ifPresent(d -> out.add("format: " + d));
        return out;
    }
}
