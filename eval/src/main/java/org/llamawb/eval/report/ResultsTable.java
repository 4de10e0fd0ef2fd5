package org.llamawb.eval.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.llamawb.eval.metrics.Metric;

/** Results as aligned text (console) or Markdown tables, one row per task and metric, as lm-evaluation-harness prints. */
public final class ResultsTable {
    private ResultsTable() {}

    public static String text(EvalReport r) {
        return render(header(), rows(r), false);
    }

    public static String markdown(EvalReport r) {
        return render(header(), rows(r), true);
    }

    public static String text(Comparison c) {
        return render(comparisonHeader(c), comparisonRows(c), false);
    }

    public static String markdown(Comparison c) {
        return render(comparisonHeader(c), comparisonRows(c), true);
    }

    private static List<String> header() {
        return List.of("task", "shots", "n", "metric", "value", "stderr", "examples/s");
    }

    private static List<List<String>> rows(EvalReport r) {
        List<List<String>> out = new ArrayList<>();
        for (TaskResult t : r.tasks()) {
            boolean first = true;
            for (Metric m : t.metrics().values()) {
                out.add(List.of(first ? t.task() : "", first ? String.valueOf(t.shots()) : "",
                        first ? String.valueOf(t.examples()) : "", m.name(), num(m.value()),
                        m.hasStderr() ? "± " + num(m.stderr()) : "", first ? rate(t.examplesPerSecond()) : ""));
                first = false;
            }
        }
        return out;
    }

    private static List<String> comparisonHeader(Comparison c) {
        return List.of("task", "metric", c.base().label(), c.adapted().label(), "delta");
    }

    private static List<List<String>> comparisonRows(Comparison c) {
        List<List<String>> out = new ArrayList<>();
        String last = "";
        for (Comparison.Row row : c.rows()) {
            out.add(List.of(row.task().equals(last) ? "" : row.task(), row.metric(), withErr(row.base()),
                    withErr(row.adapted()), String.format(Locale.ROOT, "%+.4f", row.delta())));
            last = row.task();
        }
        return out;
    }

    private static String withErr(Metric m) {
        return m.hasStderr() ? num(m.value()) + " ± " + num(m.stderr()) : num(m.value());
    }

    static String num(double v) {
        if (!Double.isFinite(v)) {
            return "n/a";
        }
        return Math.abs(v) >= 1e5 ? String.format(Locale.ROOT, "%.4g", v) : String.format(Locale.ROOT, "%.4f", v);
    }

    private static String rate(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.1f", v) : "n/a";
    }

    private static String render(List<String> header, List<List<String>> rows, boolean markdown) {
        int[] w = new int[header.size()];
        for (int i = 0; i < w.length; i++) {
            w[i] = header.get(i).length();
            for (List<String> r : rows) {
                w[i] = Math.max(w[i], r.get(i).length());
            }
        }
        StringBuilder sb = new StringBuilder();
        line(sb, header, w, markdown);
        if (markdown) {
            sb.append('|');
            for (int x : w) {
                sb.append('-').append("-".repeat(x)).append("-|");
            }
            sb.append('\n');
        } else {
            int total = 0;
            for (int x : w) {
                total += x + 2;
            }
            sb.append("-".repeat(total - 2)).append('\n');
        }
        for (List<String> r : rows) {
            line(sb, r, w, markdown);
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, List<String> cells, int[] w, boolean markdown) {
        if (markdown) {
            sb.append('|');
        }
        for (int i = 0; i < cells.size(); i++) {
            String c = cells.get(i);
            sb.append(markdown ? " " : "").append(c).append(" ".repeat(w[i] - c.length()));
            sb.append(markdown ? " |" : (i + 1 < cells.size() ? "  " : ""));
        }
        sb.append('\n');
    }
}
