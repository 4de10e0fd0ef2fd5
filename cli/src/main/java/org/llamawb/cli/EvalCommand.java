package org.llamawb.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import java.util.function.Function;
import org.apache.commons.cli.Options;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.metrics.Metric;
import org.llamawb.eval.report.Comparison;
import org.llamawb.eval.report.EvalReport;
import org.llamawb.eval.report.ResultsTable;
import org.llamawb.eval.report.TaskResult;
import org.llamawb.eval.run.AdapterLoader;
import org.llamawb.eval.run.EvalRecipe;
import org.llamawb.eval.run.EvalSettings;
import org.llamawb.eval.run.Evaluator;
import org.llamawb.eval.run.ShardedScoring;
import org.llamawb.eval.run.WorkerModel;
import org.llamawb.eval.task.Task;
import org.llamawb.config.StrictYaml;
import org.llamawb.eval.task.TaskCatalog;
import org.llamawb.model.hub.Sources;
import org.llamawb.tracking.Tracker;
import org.llamawb.tracking.Tracking;
import org.llamawb.tracking.TrackingSettings;

/**
 * {@code workbench eval (RECIPE.yaml | --model M --tasks T,...) [flags]}: runs evaluation tasks, prints the
 * results table, writes results.json, report.md and charts to {@code --out}; with {@code --compare-adapter}
 * runs base and base + adapter on the same tasks. {@code --bench} adds an untimed warm-up and prints one JSON
 * line (task accuracy and examples/s) for bench/. With {@code --spark MASTER [--workers N]} each task's examples are
 * shared by the workers of a cluster, each scoring a contiguous range with the code one process runs, and the
 * driver writes the report one process would (see {@link ShardedScoring}).
 */
final class EvalCommand implements Command {
    private final AdapterLoader adapters;
    private final Function<EvalRecipe, Tracking> trackers;
    private final PrintStream out;
    private final PrintStream err;

    /** PEFT adapters ({@link AdapterLoader#PEFT}); every variant tracked (journal, MLflow when a URI is set). */
    EvalCommand() {
        this(AdapterLoader.PEFT, r -> new Tracker(TrackingSettings.resolve(r.trackingUri(), null, r.experiment())),
                System.out, System.err);
    }

    EvalCommand(AdapterLoader adapters, Function<EvalRecipe, Tracking> trackers, PrintStream out, PrintStream err) {
        this.adapters = adapters;
        this.trackers = trackers;
        this.out = out;
        this.err = err;
    }

    @Override
    public String name() {
        return "eval";
    }

    @Override
    public String summary() {
        return "evaluate a model (multiple choice, perplexity, generation tasks; base vs adapter)";
    }

    private static Options options() {
        Options o = new Options();
        o.addOption(Flags.opt("model", "M", "Hugging Face directory, llama2.c .bin or .gguf"));
        o.addOption(Flags.opt("tokenizer", "T", "tokenizer when not beside the model (tokenizer.json/.model/.bin)"));
        o.addOption(Flags.opt("adapter", "DIR", "evaluate base + this PEFT adapter"));
        o.addOption(Flags.opt("compare-adapter", "DIR", "evaluate base and base + this adapter, and compare"));
        o.addOption(Flags.opt("tasks", "T,...", "task names (recipes/eval/tasks/NAME.yaml) or task YAML paths"));
        o.addOption(Flags.opt("limit", "N", "first N examples per task (default 0 = all)"));
        o.addOption(Flags.opt("shots", "K", "shots per example for every task (default: each task's)"));
        o.addOption(Flags.opt("out", "DIR", "output folder (default runs/eval/TIMESTAMP)"));
        o.addOption(Flags.opt("batch-tokens", "N", "token slots per forward pass (default 8192)"));
        o.addOption(Flags.opt("packing", "tree|none", "run a question's shared context once (tree, default) or per choice"));
        o.addOption(Flags.opt("max-length", "N", "scoring window (default: the model's max_position_embeddings)"));
        o.addOption(Flags.opt("add-bos", "true|false", "force BOS on or off (default: what the tokenizer does)"));
        o.addOption(Flags.opt("task-dir", "DIR", "where task names are looked up (default recipes/eval/tasks)"));
        o.addOption(Flags.opt("experiment", "NAME", "MLflow experiment (default workbench)"));
        o.addOption(Flags.opt("tracking-uri", "URI", "MLflow server (default: MLFLOW_TRACKING_URI; else journal only)"));
        o.addOption(Flags.opt("set", "KEY=VALUE", "override a recipe key (repeatable), e.g. --set limit=50"));
        o.addOption(Flags.opt("bench", null, "untimed warm-up first, then print one JSON line of timings"));
        o.addOption(Flags.opt("spark", "MASTER", "shard each task's examples over Spark executors (local-cluster[N,1,MB], "
                + "spark://HOST:PORT, k8s://..., yarn); needs the workbench-spark jar (README, \"Scaling out on Spark\")"));
        o.addOption(Flags.opt("workers", "N", "with --spark: workers per task (default: one per executor core)"));
        o.addOption(Flags.opt("list-tasks", null, "list the tasks of --task-dir and exit"));
        o.addOption(Flags.opt("reward-model", "DIR", "score the pairs of --data with this reward model (a PEFT SEQ_CLS "
                + "adapter with a score head): pairwise accuracy and mean scores"));
        o.addOption(Flags.opt("data", "FILE", "with --reward-model: preference pairs (JSON array or JSON lines)"));
        o.addOption(Flags.opt("format", "F", "with --reward-model: record format of --data (default: detected)"));
        o.addOption(Flags.opt("template", "NAME", "with --reward-model: chat template (default: the model's, else vicuna_v1.1)"));
        return o;
    }

    @Override
    @SuppressWarnings("try") // the adapter handle is held open for the evaluation, not used
    public int run(List<String> args) throws Exception {
        Flags cl = Flags.parse("eval (RECIPE.yaml | --model M --tasks T,... | --reward-model DIR --data FILE) "
                + "[options; flags override recipe keys]", options(), args);
        if (cl == null) {
            return 0;
        }
        if (cl.has("workers") && !cl.has("spark")) {
            throw new UsageException("eval: --workers applies with --spark only");
        }
        if (cl.has("spark") && cl.has("reward-model")) {
            throw new UsageException("--spark shards evaluation tasks; --reward-model runs in one process (drop --spark)");
        }
        if (cl.has("spark") && cl.has("bench")) {
            throw new UsageException("--bench times one process; run it without --spark");
        }
        if (cl.has("reward-model")) {
            return RewardModelEval.run(cl, out, err);
        }
        Path cwd = Path.of("").toAbsolutePath();
        TaskCatalog catalog = new TaskCatalog(Path.of(cl.string("task-dir", "recipes/eval/tasks")), cwd);
        if (cl.has("list-tasks")) {
            catalog.names().forEach(out::println);
            return 0;
        }
        if (cl.positional().size() > 1) {
            throw new UsageException("at most one recipe file, got " + cl.positional());
        }
        EvalRecipe recipe = cl.positional().isEmpty() ? EvalRecipe.empty() : EvalRecipe.read(Path.of(cl.positional().get(0)));
        recipe = merge(StrictYaml.override(recipe, EvalRecipe.class, "eval recipe", cl.strings("set")), cl);
        if (recipe.model() == null) {
            throw new UsageException("no model: give --model or a recipe with 'model'");
        }
        if (recipe.tasks() == null) {
            throw new UsageException("no tasks: give --tasks (e.g. --tasks arc_easy,piqa) or a recipe with 'tasks'");
        }
        String adapter = recipe.adapter() != null ? recipe.adapter() : recipe.compareAdapter();
        if (adapter != null && !Files.isDirectory(Path.of(adapter))) {
            throw new UsageException("--" + (recipe.adapter() != null ? "adapter" : "compare-adapter") + ": " + adapter
                    + " is not a directory (expected a PEFT adapter: adapter_config.json + adapter_model.safetensors)");
        }
        List<Task> tasks = new ArrayList<>();
        for (Task t : catalog.resolveAll(recipe.tasks())) {
            tasks.add(t.requireData());
        }
        EvalSettings settings = recipe.settings();
        Path outDir = Path.of(recipe.out() != null ? recipe.out()
                : "runs/eval/" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        if (cl.has("spark")) {
            ShardedScoring.Engine engine = engine("spark");
            return runSharded(engine, cl.string("spark"), cl.integer("workers", 0), recipe, tasks, settings, outDir);
        }
        try (EvalModel loaded = EvalModel.load(Sources.resolve(recipe.model()), recipe.tokenizer() == null ? null : Sources.resolve(recipe.tokenizer()))) {
            EvalModel model = loaded;
            if (recipe.maxLength() != null) {
                model = model.withMaxLength(recipe.maxLength());
            }
            if (recipe.addBos() != null) {
                model = model.withAddBos(recipe.addBos());
            }
            if (cl.has("bench")) {
                warmUp(model, tasks.get(0), settings);
            }
            Evaluator evaluator = new Evaluator(settings, trackers.apply(recipe), err);
            if (recipe.compareAdapter() != null) {
                Comparison c = evaluator.compare(model, adapters, Path.of(recipe.compareAdapter()), tasks, outDir);
                out.print(ResultsTable.text(c));
                benchLine(cl, c.adapted());
            } else if (recipe.adapter() != null) {
                try (AutoCloseable a = adapters.attach(model.llama(), Path.of(recipe.adapter()))) {
                    EvalReport r = evaluator.evaluate(model, tasks, "adapter", recipe.adapter(), outDir);
                    out.print(ResultsTable.text(r));
                    benchLine(cl, r);
                }
            } else {
                EvalReport r = evaluator.evaluate(model, tasks, Path.of(recipe.model()).getFileName().toString(), null, outDir);
                out.print(ResultsTable.text(r));
                benchLine(cl, r);
            }
        }
        err.println("wrote " + outDir + "/ (results.json, report.md, charts/)");
        return 0;
    }

    /**
     * The evaluation on the workers of a cluster ({@code --spark}): the same report, samples and answers as in one
     * process (see {@link Evaluator#evaluate(ShardedScoring, String, List, String, String, Path)}). The driver loads
     * no weights: the workers open the model, each once.
     */
    private int runSharded(ShardedScoring.Engine engine, String master, int workers, EvalRecipe recipe, List<Task> tasks,
            EvalSettings settings, Path outDir) {
        Path modelPath = Sources.resolve(recipe.model());
        Path tokenizer = recipe.tokenizer() == null ? null : Sources.resolve(recipe.tokenizer());
        // the name one process reports (EvalModel.load names a model by the path it was given), the paths absolute
        WorkerModel model = new WorkerModel(modelPath.toString(), modelPath.toAbsolutePath().normalize().toString(),
                tokenizer == null ? null : tokenizer.toAbsolutePath().normalize().toString(), recipe.maxLength(),
                recipe.addBos());
        try (ShardedScoring cluster = engine.connect(master, workers, model, settings, err)) {
            Evaluator evaluator = new Evaluator(settings, trackers.apply(recipe), err);
            if (recipe.compareAdapter() != null) {
                Comparison c = evaluator.compare(cluster, model.name(), Path.of(recipe.compareAdapter()), tasks, outDir);
                out.print(ResultsTable.text(c));
            } else if (recipe.adapter() != null) {
                out.print(ResultsTable.text(evaluator.evaluate(cluster, model.name(), tasks, "adapter", recipe.adapter(), outDir)));
            } else {
                out.print(ResultsTable.text(evaluator.evaluate(cluster, model.name(), tasks,
                        Path.of(recipe.model()).getFileName().toString(), null, outDir)));
            }
        }
        err.println("wrote " + outDir + "/ (results.json, report.md, charts/)");
        return 0;
    }

    /**
     * The cluster engine called {@code name} on the class path. Spark comes with the {@code distributed} module, which
     * the single-machine jar leaves out (see {@code org.llamawb.distributed}).
     */
    static ShardedScoring.Engine engine(String name) {
        for (ShardedScoring.Engine e : ServiceLoader.load(ShardedScoring.Engine.class)) {
            if (e.name().equals(name)) {
                return e;
            }
        }
        throw new UsageException("--" + name + ": this workbench jar is built without Spark; run distributed/target/"
                + "workbench-spark.jar (./mvnw -pl distributed -am package; ./workbench uses it by itself when --spark is given)");
    }

    /** Runs the first task on a few examples, untimed, so JIT and libtorch start-up are not in the timings. */
    private void warmUp(EvalModel model, Task task, EvalSettings s) {
        EvalSettings few = new EvalSettings(8, s.shots(), s.batchTokens(), s.maxRows(), s.packing());
        new Evaluator(few, Tracking.NONE, new PrintStream(PrintStream.nullOutputStream())).evaluate(model, List.of(task),
                "warm-up", null, null);
    }

    private void benchLine(Flags cl, EvalReport r) {
        if (!cl.has("bench")) {
            return;
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode line = json.createObjectNode();
        line.put("bench", "eval_gauntlet");
        line.put("impl", "java-djl");
        line.put("model", r.model());
        line.put("cpu_count", Runtime.getRuntime().availableProcessors());
        r.settings().forEach((k, v) -> line.put(k, String.valueOf(v)));
        ObjectNode tasks = line.putObject("tasks");
        double seconds = 0;
        long examples = 0;
        for (TaskResult t : r.tasks()) {
            ObjectNode n = tasks.putObject(t.task());
            n.put("examples", t.examples());
            n.put("seconds", t.seconds());
            n.put("examples_per_s", t.examplesPerSecond());
            n.put("token_slots", t.tokenSlots());
            for (Metric m : t.metrics().values()) {
                n.put(m.name(), m.value());
            }
            seconds += t.seconds();
            examples += t.examples();
        }
        line.put("total_examples", examples);
        line.put("total_seconds", seconds);
        line.put("examples_per_s", examples / seconds);
        out.println(line.toString());
    }

    private static EvalRecipe merge(EvalRecipe r, Flags cl) {
        return new EvalRecipe(
                cl.string("model", r.model()),
                cl.string("tokenizer", r.tokenizer()),
                cl.has("compare-adapter") ? null : cl.string("adapter", r.adapter()),
                cl.has("adapter") ? null : cl.string("compare-adapter", r.compareAdapter()),
                cl.has("tasks") ? Arrays.stream(cl.string("tasks").split(",")).map(String::trim).toList() : r.tasks(),
                cl.has("limit") ? Integer.valueOf(cl.integer("limit", 0)) : r.limit(),
                cl.has("shots") ? Integer.valueOf(cl.integer("shots", 0)) : r.shots(),
                cl.has("batch-tokens") ? Integer.valueOf(cl.integer("batch-tokens", 0)) : r.batchTokens(),
                cl.string("packing", r.packing()),
                cl.has("max-length") ? Integer.valueOf(cl.integer("max-length", 0)) : r.maxLength(),
                cl.has("add-bos") ? Boolean.valueOf(boolFlag(cl.string("add-bos"))) : r.addBos(),
                cl.string("out", r.out()),
                cl.string("experiment", r.experiment()),
                cl.string("tracking-uri", r.trackingUri()));
    }

    private static boolean boolFlag(String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "1" -> true;
            case "false", "no", "0" -> false;
            default -> throw new UsageException("--add-bos must be true or false, got '" + v + "'");
        };
    }
}
