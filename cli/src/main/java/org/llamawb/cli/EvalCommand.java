package org.llamawb.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.metrics.Metric;
import org.llamawb.eval.report.Comparison;
import org.llamawb.eval.report.EvalReport;
import org.llamawb.eval.report.ResultsTable;
import org.llamawb.eval.report.TaskResult;
import org.llamawb.eval.run.AdapterLoader;
import org.llamawb.eval.run.EvalRecipe;
import org.llamawb.eval.run.EvalSettings;
import org.llamawb.eval.run.EvalTracker;
import org.llamawb.eval.run.Evaluator;
import org.llamawb.eval.task.Task;
import org.llamawb.eval.task.TaskCatalog;

/**
 * {@code workbench eval (RECIPE.yaml | --model M --tasks T,...) [flags]}: runs evaluation tasks, prints the
 * results table, writes results.json, report.md and charts to {@code --out}; with {@code --compare-adapter}
 * runs base and base + adapter on the same tasks. {@code --bench} adds an untimed warm-up and prints one JSON
 * line (task accuracy and examples/s) for bench/.
 */
final class EvalCommand implements Command {
    private final AdapterLoader adapters;
    private final EvalTracker tracker;
    private final PrintStream out;
    private final PrintStream err;

    EvalCommand() {
        this(AdapterLoader.UNAVAILABLE, EvalTracker.NONE, System.out, System.err);
    }

    EvalCommand(AdapterLoader adapters, EvalTracker tracker, PrintStream out, PrintStream err) {
        this.adapters = adapters;
        this.tracker = tracker;
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
        o.addOption(Option.builder().longOpt("model").hasArg().argName("M").desc("Hugging Face directory or llama2.c .bin").build());
        o.addOption(Option.builder().longOpt("tokenizer").hasArg().argName("FILE").desc("tokenizer.json (default: beside the model)").build());
        o.addOption(Option.builder().longOpt("adapter").hasArg().argName("DIR").desc("evaluate base + this PEFT adapter").build());
        o.addOption(Option.builder().longOpt("compare-adapter").hasArg().argName("DIR").desc("evaluate base and base + adapter, and compare").build());
        o.addOption(Option.builder().longOpt("tasks").hasArg().argName("T,...").desc("task names (recipes/eval/tasks) or YAML paths").build());
        o.addOption(Option.builder().longOpt("limit").hasArg().argName("N").desc("first N examples per task (0 = all)").build());
        o.addOption(Option.builder().longOpt("shots").hasArg().argName("K").desc("shots per example for every task").build());
        o.addOption(Option.builder().longOpt("out").hasArg().argName("DIR").desc("output folder (default runs/eval/TIMESTAMP)").build());
        o.addOption(Option.builder().longOpt("batch-tokens").hasArg().argName("N").desc("token slots per forward pass (default 8192)").build());
        o.addOption(Option.builder().longOpt("packing").hasArg().argName("tree|none").desc("share a question's context (tree, default) or not").build());
        o.addOption(Option.builder().longOpt("max-length").hasArg().argName("N").desc("scoring window (default: the model's)").build());
        o.addOption(Option.builder().longOpt("add-bos").hasArg().argName("true|false").desc("force BOS on or off (default: the tokenizer's)").build());
        o.addOption(Option.builder().longOpt("task-dir").hasArg().argName("DIR").desc("where task names are looked up (default recipes/eval/tasks)").build());
        o.addOption(Option.builder().longOpt("experiment").hasArg().argName("NAME").desc("MLflow experiment").build());
        o.addOption(Option.builder().longOpt("tracking-uri").hasArg().argName("URI").desc("MLflow tracking URI").build());
        o.addOption(Option.builder().longOpt("bench").desc("warm up untimed first, then print one JSON line of timings").build());
        o.addOption(Option.builder().longOpt("list-tasks").desc("list the tasks of --task-dir and exit").build());
        o.addOption(Option.builder("h").longOpt("help").desc("this help").build());
        return o;
    }

    @Override
    public int run(List<String> args) throws Exception {
        Options options = options();
        CommandLine cl;
        try {
            cl = new DefaultParser().parse(options, args.toArray(new String[0]));
        } catch (ParseException e) {
            throw new UsageException(e.getMessage() + "; run 'workbench eval --help'");
        }
        if (cl.hasOption("help")) {
            HelpFormatter f = new HelpFormatter();
            PrintWriter w = new PrintWriter(out);
            f.printHelp(w, 100, "workbench eval (RECIPE.yaml | --model M --tasks T,...) [options]", "", options, 2, 2,
                    "Flags override the recipe's keys of the same name.");
            w.flush();
            return 0;
        }
        Path cwd = Path.of("").toAbsolutePath();
        TaskCatalog catalog = new TaskCatalog(Path.of(cl.getOptionValue("task-dir", "recipes/eval/tasks")), cwd);
        if (cl.hasOption("list-tasks")) {
            catalog.names().forEach(out::println);
            return 0;
        }
        if (cl.getArgList().size() > 1) {
            throw new UsageException("at most one recipe file, got " + cl.getArgList());
        }
        EvalRecipe recipe = cl.getArgList().isEmpty() ? EvalRecipe.empty() : EvalRecipe.read(Path.of(cl.getArgList().get(0)));
        recipe = merge(recipe, cl);
        if (recipe.model() == null) {
            throw new UsageException("no model: give --model or a recipe with 'model'");
        }
        if (recipe.tasks() == null) {
            throw new UsageException("no tasks: give --tasks (e.g. --tasks arc_easy,piqa) or a recipe with 'tasks'");
        }
        if ((recipe.experiment() != null || recipe.trackingUri() != null) && tracker == EvalTracker.NONE) {
            err.println("note: MLflow logging is not wired into eval yet (tracking module); results stay in the output folder");
        }
        String adapter = recipe.adapter() != null ? recipe.adapter() : recipe.compareAdapter();
        if (adapter != null && adapters == AdapterLoader.UNAVAILABLE) {
            adapters.attach(null, Path.of(adapter)); // fails with its one-line reason before any work is done
        }
        List<Task> tasks = new ArrayList<>();
        for (Task t : catalog.resolveAll(recipe.tasks())) {
            tasks.add(t.requireData());
        }
        EvalSettings settings = recipe.settings();
        Path outDir = Path.of(recipe.out() != null ? recipe.out()
                : "runs/eval/" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        try (EvalModel loaded = EvalModel.load(Path.of(recipe.model()), recipe.tokenizer() == null ? null : Path.of(recipe.tokenizer()))) {
            EvalModel model = loaded;
            if (recipe.maxLength() != null) {
                model = model.withMaxLength(recipe.maxLength());
            }
            if (recipe.addBos() != null) {
                model = model.withAddBos(recipe.addBos());
            }
            if (cl.hasOption("bench")) {
                warmUp(model, tasks.get(0), settings);
            }
            Evaluator evaluator = new Evaluator(settings, tracker, err);
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

    /** Runs the first task on a few examples, untimed, so JIT and libtorch start-up are not in the timings. */
    private void warmUp(EvalModel model, Task task, EvalSettings s) {
        EvalSettings few = new EvalSettings(8, s.shots(), s.batchTokens(), s.maxRows(), s.packing());
        new Evaluator(few, EvalTracker.NONE, new PrintStream(PrintStream.nullOutputStream())).evaluate(model, List.of(task),
                "warm-up", null, null);
    }

    private void benchLine(CommandLine cl, EvalReport r) {
        if (!cl.hasOption("bench")) {
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

    private static EvalRecipe merge(EvalRecipe r, CommandLine cl) {
        return new EvalRecipe(
                cl.getOptionValue("model", r.model()),
                cl.getOptionValue("tokenizer", r.tokenizer()),
                cl.hasOption("compare-adapter") ? null : cl.getOptionValue("adapter", r.adapter()),
                cl.hasOption("adapter") ? null : cl.getOptionValue("compare-adapter", r.compareAdapter()),
                cl.hasOption("tasks") ? Arrays.stream(cl.getOptionValue("tasks").split(",")).map(String::trim).toList() : r.tasks(),
                intFlag(cl, "limit", r.limit()),
                intFlag(cl, "shots", r.shots()),
                intFlag(cl, "batch-tokens", r.batchTokens()),
                cl.getOptionValue("packing", r.packing()),
                intFlag(cl, "max-length", r.maxLength()),
                cl.hasOption("add-bos") ? Boolean.valueOf(boolFlag(cl.getOptionValue("add-bos"))) : r.addBos(),
                cl.getOptionValue("out", r.out()),
                cl.getOptionValue("experiment", r.experiment()),
                cl.getOptionValue("tracking-uri", r.trackingUri()));
    }

    private static Integer intFlag(CommandLine cl, String name, Integer fallback) {
        if (!cl.hasOption(name)) {
            return fallback;
        }
        try {
            return Integer.parseInt(cl.getOptionValue(name));
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer, got '" + cl.getOptionValue(name) + "'");
        }
    }

    private static boolean boolFlag(String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "1" -> true;
            case "false", "no", "0" -> false;
            default -> throw new UsageException("--add-bos must be true or false, got '" + v + "'");
        };
    }
}
