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
import java.util.function.Function;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.report.Comparison;
import org.llamawb.eval.report.EvalReport;
import org.llamawb.eval.report.MarkdownReport;
import org.llamawb.eval.report.MetricChart;
import org.llamawb.eval.report.ReportJson;
import org.llamawb.eval.report.ShardRun;
import org.llamawb.eval.report.TaskResult;
import org.llamawb.eval.report.TaskRun;
import org.llamawb.eval.task.Shard;
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
        return evaluate(task -> {
            long start = System.nanoTime();
            ShardRun all = TaskRunners.score(task, model, settings, Shard.ALL);
            return TaskRunners.merge(task, List.of(all), (System.nanoTime() - start) / 1e9);
        }, model.name(), model.maxLength(), model.addBos(), tasks, label, adapter, outDir);
    }

    /**
     * Evaluates on the workers of {@code cluster} (each with {@code adapter} attached, if any) on every task: the
     * report, samples and answers are the ones {@link #evaluate(EvalModel, List, String, String, Path)} writes for the
     * same model, but for wall times and token slots (padding depends on which requests share a forward pass).
     *
     * @param modelName the model's name in the report (what one process would report)
     */
    public EvalReport evaluate(ShardedScoring cluster, String modelName, List<Task> tasks, String label, String adapter,
            Path outDir) {
        return evaluate(task -> {
            long start = System.nanoTime();
            List<ShardRun> shards = cluster.score(task, adapter == null ? null : Path.of(adapter).toAbsolutePath().toString());
            return TaskRunners.merge(task, shards, (System.nanoTime() - start) / 1e9);
        }, modelName, cluster.maxLength(), cluster.addBos(), tasks, label, adapter, outDir);
    }

    private EvalReport evaluate(Function<Task, TaskRun> runner, String modelName, int maxLength, boolean addBos,
            List<Task> tasks, String label, String adapter, Path outDir) {
        Instant started = Instant.now();
        List<TaskResult> results = new ArrayList<>();
        for (Task t : tasks) {
            Task task = settings.shots() != null ? t.withShots(settings.shots()) : t;
            TaskRun run = runner.apply(task);
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
        s.put("max_length", maxLength);
        s.put("add_bos", addBos);
        EvalReport report = new EvalReport(label, modelName, adapter, s, results);
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
        return compared(new Comparison(base, adapted), outDir);
    }

    /** {@link #compare(EvalModel, AdapterLoader, Path, List, Path)} on the workers of {@code cluster}. */
    public Comparison compare(ShardedScoring cluster, String modelName, Path adapter, List<Task> tasks, Path outDir) {
        EvalReport base = evaluate(cluster, modelName, tasks, "base", null, outDir == null ? null : outDir.resolve("base"));
        EvalReport adapted = evaluate(cluster, modelName, tasks, "adapter", adapter.toString(),
                outDir == null ? null : outDir.resolve("adapter"));
        return compared(new Comparison(base, adapted), outDir);
    }

    /** Writes comparison.json, comparison.md and the side-by-side charts. */
    private static Comparison compared(Comparison c, Path outDir) {
        if (outDir != null) {
            ReportJson.write(ReportJson.comparisonJson(c), outDir.resolve("comparison.json"));
            Map<String, String> charts = new LinkedHashMap<>();
            for (TaskResult t : c.base().tasks()) {
                String rel = "charts/" + t.task() + ".png";
                MetricChart.write(c, t.task(), outDir.resolve(rel));
                charts.put(t.task(), rel);
            }
            writeText(outDir.resolve("comparison.md"), MarkdownReport.of(c, charts));
        }
        return c;
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
