package org.llamawb.eval.report;

import java.util.Locale;
import java.util.Map;

/** The human-readable report: settings, the results table, and the chart of each task. */
public final class MarkdownReport {
    private MarkdownReport() {}

    /** @param charts task name to the chart's path relative to the report */
    public static String of(EvalReport r, Map<String, String> charts) {
        StringBuilder sb = new StringBuilder();
        sb.append("# Evaluation: ").append(r.label()).append("\n\n");
        sb.append("- model: `").append(r.model()).append("`\n");
        if (r.adapter() != null) {
            sb.append("- adapter: `").append(r.adapter()).append("`\n");
        }
        r.settings().forEach((k, v) -> sb.append("- ").append(k).append(": ").append(v).append('\n'));
        sb.append('\n').append(ResultsTable.markdown(r)).append('\n');
        sb.append("Time per task: ");
        r.tasks().forEach(t -> sb.append(String.format(Locale.ROOT, "%s %.1f s; ", t.task(), t.seconds())));
        sb.append("\n\n");
        appendCharts(sb, charts);
        return sb.toString();
    }

    public static String of(Comparison c, Map<String, String> charts) {
        StringBuilder sb = new StringBuilder();
        sb.append("# Evaluation: ").append(c.base().label()).append(" vs ").append(c.adapted().label()).append("\n\n");
        sb.append("- model: `").append(c.base().model()).append("`\n");
        sb.append("- adapter: `").append(c.adapted().adapter()).append("`\n");
        c.base().settings().forEach((k, v) -> sb.append("- ").append(k).append(": ").append(v).append('\n'));
        sb.append('\n').append(ResultsTable.markdown(c)).append('\n');
        appendCharts(sb, charts);
        return sb.toString();
    }

    private static void appendCharts(StringBuilder sb, Map<String, String> charts) {
        charts.forEach((task, path) -> sb.append("![").append(task).append("](").append(path).append(")\n"));
    }
}
