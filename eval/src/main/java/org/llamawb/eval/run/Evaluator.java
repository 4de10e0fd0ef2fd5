package org.llamawb.eval.run;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.generation.ExactMatchTaskRunner;
import org.llamawb.eval.generation.GenerationTaskRunner;
import org.llamawb.eval.report.Comparison;
import org.llamawb.eval.report.EvalReport;
import org.llamawb.eval.report.MarkdownReport;
import org.llamawb.eval.report.MetricChart;
import org.llamawb.eval.report.ReportJson;
import org.llamawb.eval.report.TaskResult;
import org.llamawb.eval.report.TaskRun;
import org.llamawb.eval.task.Task;
import org.llamawb.eval.task.TaskKind;
import org.llamawb.tracking.Tracking;

/**
 * Runs tasks on a model and writes what they produced. Output folder layout:
 * <pre>
 *   results.json          metrics per task (lm-evaluation-harness' "results" shape) and run details
 *   report.md             settings, results table, charts
 *   charts/TASK.png       bar chart of the task's metrics (± stderr)
 *   samples/TASK.jsonl    per-example scores (choice and perplexity tasks, exact match)
 *   answers/TASK.jsonl    generated answers in FastChat's format (generation tasks)
 * </pre>
 * A comparison writes {@code base/} and {@code adapter/} folders like this, plus {@code comparison.json},
 * {@code comparison.md} and {@code charts/TASK.png} with both variants side by side.
 */
public final class Evaluator {
    private final EvalSettings settings;
    private final Tracking tracking;
    private final PrintStream log;

    /**
     * @param tracking where each evaluated variant is logged as a run ({@code Tracker}: journal and MLflow;
     *     {@link Tracking#NONE}: nowhere)
     */
    public Evaluator(EvalSettings settings, Tracking tracking, PrintStream log) {
        this.settings = settings;
        this.tracking = tracking;
        this.log = log;
    }

    /** Evaluates {@code model} (already carrying {@code adapter}, if any) on every task. */
    public EvalReport evaluate(EvalModel model, List<Task> tasks, String label, String adapter, Path outDir) {
        Instant started = Instant.now();
        List<TaskResult> results = new ArrayList<>();
        for (Task t : tasks) {
            Task task = settings.shots() != null ? t.withShots(settings.shots()) : t;
            TaskRun run = runOne(task, model);
            TaskResult r = run.result();
            if (outDir != null && !run.records().isEmpty()) {
                String rel = (r.kind() == TaskKind.GENERATION ? "answers/" : "samples/") + r.task() + ".jsonl";
                ReportJson.writeLines(run.records(), outDir.resolve(rel));
                r = r.withArtifact(r.kind() == TaskKind.GENERATION ? "answers" : "samples", rel);
            }
            log.printf(Locale.ROOT, "%s: %d examples in %.1f s (%.1f examples/s) %s%n", r.task(), r.examples(), r.seconds(),
                    r.examplesPerSecond(), headline(r));
            results.add(r);
        }
        Map<String, Object> s = new LinkedHashMap<>(settings.describe());
        s.put("max_length", model.maxLength());
        s.put("add_bos", model.addBos());
        EvalReport report = new EvalReport(label, model.name(), adapter, s, results);
        if (outDir != null) {
            write(report, outDir);
            EvalRuns.log(tracking, report, tasks, outDir, started);
        }
        return report;
    }

    /** Base, then base + adapter (attached through {@code loader}), on the same tasks; writes the comparison. */
    public Comparison compare(EvalModel model, AdapterLoader loader, Path adapter, List<Task> tasks, Path outDir) {
        EvalReport base = evaluate(model, tasks, "base", null, outDir == null ? null : outDir.resolve("base"));
        EvalReport adapted;
        try (AutoCloseable attached = loader.attach(model.llama(), adapter)) {
            adapted = evaluate(model, tasks, "adapter", adapter.toString(), outDir == null ? null : outDir.resolve("adapter"));
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("detaching the adapter failed", e);
        }
        Comparison c = new Comparison(base, adapted);
        if (outDir != null) {
            ReportJson.write(ReportJson.comparisonJson(c), outDir.resolve("comparison.json"));
            Map<String, String> charts = new LinkedHashMap<>();
            for (TaskResult t : base.tasks()) {
                String rel = "charts/" + t.task() + ".png";
                MetricChart.write(c, t.task(), outDir.resolve(rel));
                charts.put(t.task(), rel);
            }
            writeText(outDir.resolve("comparison.md"), MarkdownReport.of(c, charts));
        }
        return c;
    }

    private TaskRun runOne(Task task, EvalModel model) {
        int limit = settings.limit();
        return switch (task.spec().kind()) {
            case MULTIPLE_CHOICE, PARTIAL_CHOICE, COMPLETION -> ChoiceTaskRunner.run(task, model,
                    settings.scoring(model.maxLength()), limit);
            case PERPLEXITY -> PerplexityTaskRunner.run(task, model, settings.scoring(model.maxLength()), limit);
            case DIALOGUE_LOSS -> DialogueLossTaskRunner.run(task, model, settings.scoring(model.maxLength()), limit);
            case GENERATION -> GenerationTaskRunner.run(task, model, limit);
            case EXACT_MATCH -> ExactMatchTaskRunner.run(task, model, limit);
        };
    }

    private static String headline(TaskResult r) {
        StringBuilder sb = new StringBuilder();
        r.metrics().values().forEach(m -> sb.append(String.format(Locale.ROOT, "%s=%.4f ", m.name(), m.value())));
        return sb.toString().trim();
    }

    /** results.json, report.md and one chart per task. */
    public static void write(EvalReport report, Path outDir) {
        ReportJson.write(ReportJson.toJson(report), outDir.resolve("results.json"));
        Map<String, String> charts = new LinkedHashMap<>();
        for (TaskResult t : report.tasks()) {
            String rel = "charts/" + t.task() + ".png";
            MetricChart.write(t, report.label(), outDir.resolve(rel));
            charts.put(t.task(), rel);
        }
        writeText(outDir.resolve("report.md"), MarkdownReport.of(report, charts));
    }

    private static void writeText(Path file, String text) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
