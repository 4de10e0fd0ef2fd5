package org.llamawb.datasets.source;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a read saw: records, examples produced, and every skipped record counted by reason, with the
 * first few problems kept in full for reports.
 */
public final class ReadCounts {
    private final int keepProblems;
    private long records;
    private long examples;
    private final Map<String, Long> skippedByReason = new TreeMap<>();
    private final List<Problem> firstProblems = new ArrayList<>();
    private long problems;
    private String detection;

    public ReadCounts(int keepProblems) {
        this.keepProblems = keepProblems;
    }

    void detection(String note) {
        detection = note;
    }

    /** What format auto-detection chose and from what, in one line; empty when the format was given. */
    public java.util.Optional<String> detection() {
        return java.util.Optional.ofNullable(detection);
    }

    void record() {
        records++;
    }

    void examples(int n) {
        examples += n;
    }

    void problem(Problem p) {
        problems++;
        skippedByReason.merge(reasonKind(p.reason()), 1L, Long::sum);
        if (firstProblems.size() < keepProblems) {
            firstProblems.add(p);
        }
    }

    /** Records read (good and bad). */
    public long records() {
        return records;
    }

    /** Examples produced. */
    public long examples() {
        return examples;
    }

    /** Records skipped for a problem. */
    public long problems() {
        return problems;
    }

    /** Skipped records by kind of reason (the reason up to its first parenthesis or quote detail). */
    public Map<String, Long> skippedByReason() {
        return Collections.unmodifiableMap(skippedByReason);
    }

    /** The first problems, in file order. */
    public List<Problem> firstProblems() {
        return Collections.unmodifiableList(firstProblems);
    }

    /** Groups reasons like "unknown role 'tool' in ..." under "unknown role". */
    static String reasonKind(String reason) {
        int cut = reason.length();
        for (String stop : new String[] {" '", " (", ":", " in "}) {
            int i = reason.indexOf(stop);
            if (i > 0 && i < cut) {
                cut = i;
            }
        }
        return reason.substring(0, cut);
    }
}
