package org.llamawb.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.Set;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.llamawb.adapters.PeftAdapterFormat;
import org.llamawb.finetune.checkpoint.CheckpointStore;
import org.llamawb.finetune.checkpoint.ResumePoint;
import org.llamawb.finetune.recipe.Method;
import org.llamawb.finetune.recipe.ModelSection;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.datasets.mix.DataSource;
import org.llamawb.datasets.source.DataFormat;
import org.llamawb.datasets.source.DatasetReader;
import org.llamawb.datasets.source.ExampleStream;
import org.llamawb.datasets.source.ReadOptions;
import org.llamawb.datasets.template.ChatTemplates;
import org.llamawb.model.BadInputException;
import org.llamawb.model.LoadedModel;
import org.llamawb.model.hub.Sources;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.finetune.train.ParallelGradients;
import org.llamawb.finetune.train.Trainer;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.LlamaLayout;
import org.llamawb.tracking.RunSpec;
import org.llamawb.tracking.TrackedRun;
import org.llamawb.tracking.Tracker;
import org.llamawb.tracking.TrackingSettings;

/**
 * {@code workbench finetune RECIPE.yaml [--set key=value ...] [--resume | --resume-from DIR]}: the method the
 * recipe names. Resuming continues from the newest usable checkpoint (a damaged newer one is reported and set
 * aside) or from the checkpoint directory named; a recipe change that cannot apply to a resumed run is refused
 * before any tracked run is touched (see {@link ResumePoint}). With {@code --spark MASTER} the forward and backward
 * passes of each step are shared by Spark executors (data parallel); this process remains the trainer, and writes
 * the checkpoints and the tracked run.
 */
final class FinetuneCommand implements Command {
    @Override
    public String name() {
        return "finetune";
    }

    @Override
    public String summary() {
        return "train from a recipe (LoRA or full fine-tuning), with checkpoints, resume and tracking";
    }

    @Override
    public int run(List<String> args) throws Exception {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("set").hasArg().argName("key=value")
                .desc("override a recipe key, e.g. --set train.learning_rate=1e-4 (repeatable)").build());
        o.addOption(Flags.opt("resume", null, "continue from the newest checkpoint in output.dir"));
        o.addOption(Flags.opt("resume-from", "DIR", "continue from this checkpoint directory (e.g. an older one "
                + "when the newest is damaged)"));
        o.addOption(Flags.opt("tracking-uri", "URI", "MLflow tracking server (else tracking.uri, else MLFLOW_TRACKING_URI)"));
        o.addOption(Flags.opt("spark", "MASTER", "share each step's micro-batches over Spark executors (local-cluster[N,1,MB], "
                + "spark://HOST:PORT, k8s://..., yarn); needs the workbench-spark jar (README, \"Scaling out on Spark\")"));
        o.addOption(Flags.opt("workers", "N", "with --spark: workers per step (default: one per executor core)"));
        Flags f = Flags.parse("finetune RECIPE.yaml [--set key=value ...] [--resume | --resume-from DIR] [--tracking-uri URI] "
                + "[--spark MASTER [--workers N]]", o, args);
        if (f == null) {
            return 0;
        }
        if (f.positional().size() != 1) {
            throw new UsageException("finetune: name exactly one recipe file (got " + f.positional().size() + ")");
        }
        Path file = Path.of(f.positional().get(0));
        if (f.has("workers") && !f.has("spark")) {
            throw new UsageException("finetune: --workers applies with --spark only");
        }
        ParallelGradients.Engine engine = f.has("spark") ? engine("spark") : null;
        Recipe recipe = RecipeLoader.load(file, Recipe.class, f.strings("set"));
        if (engine != null && !recipe.methodKind().runsDataParallel()) {
            // an online method samples its batches (rollouts) from the policy first, which the workers would share too
            throw new UsageException("--spark: method: " + recipe.method() + " does not run data-parallel (methods "
                    + Method.dataParallelNames() + " do); run it without --spark");
        }
        Path outputDir = Path.of(recipe.output().dir());
        if (Files.exists(outputDir) && !Files.isDirectory(outputDir)) {
            throw new BadInputException("output.dir: " + outputDir + " exists and is not a directory");
        }
        // before the tracker opens (and would resume) the MLflow run kept in that directory: a refused
        // command must not touch a finished run
        Path resumeFrom = f.has("resume-from") ? Path.of(f.string("resume-from", null)) : null;
        boolean resume = f.has("resume") || resumeFrom != null;
        if (!resume && !new CheckpointStore(outputDir, recipe.output().keepLast()).list().isEmpty()) {
            throw new BadInputException(outputDir + ": already holds checkpoints; pass --resume to continue that run "
                    + "or set output.dir to a new folder");
        }
        // the checkpoint to continue from, and the recipe changes since it (one refused is one line, exit 2)
        Optional<ResumePoint> point = resume ? ResumePoint.find(recipe, resumeFrom, System.err::println) : Optional.empty();
        checkModel(recipe.model(), recipe.data().template());
        checkInitFrom(recipe);
        checkData(recipe);
        Files.createDirectories(outputDir);
        TrackingSettings settings = TrackingSettings.resolve(f.string("tracking-uri", null), recipe.tracking().uri(),
                recipe.tracking().experiment()).withNotices(System.err::println);
        String runName = recipe.tracking().runName() != null ? recipe.tracking().runName()
                : outputDir.toAbsolutePath().getFileName().toString();
        RunSpec spec = RunSpec.of(outputDir, runName)
                .withSourceName(file.toString())
                .withMethod(recipe.method())
                .withBaseModel(recipe.model().path())
                .withAdapterType(recipe.adapter().isLora() ? "lora" : "none")
                .withNote(recipe.method() + " of " + recipe.model().path() + " with "
                        + (recipe.adapter().isLora() ? (recipe.adapter().useDora() ? "DoRA r=" : "LoRA r=") + recipe.adapter().r()
                                : "every parameter trained")
                        + " on " + recipe.data().sources().size() + " source(s); rematerialization "
                        + recipe.train().rematerialization());
        for (Map.Entry<String, String> tag : recipe.tracking().tags().entrySet()) {
            spec = spec.withTag(tag.getKey(), tag.getValue()); // e.g. the chain an SFT → reward → PPO stage belongs to
        }
        // the cluster before the tracked run: a master that cannot be reached leaves no run behind
        try (ParallelGradients parallel = engine == null ? null
                : engine.connect(f.string("spark"), f.integer("workers", 0), recipe, System.err);
                TrackedRun run = new Tracker(settings).start(spec)) {
            // what this run trains with: the recipe resolved (--set applied, defaults filled in), not the file
            run.logText(resolvedRecipe(file, recipe, f.strings("set")), file.getFileName().toString());
            if (parallel != null) {
                run.setTag("data_parallel", engine.name() + " " + f.string("spark"));
            }
            try {
                Trainer.Result result = Trainer.run(new Trainer.Options(recipe, resume, run, System.err,
                        point.map(ResumePoint::checkpoint).orElse(null), parallel));
                run.finish();
                System.out.println("done: " + result.steps() + " steps; output " + result.output());
            } catch (RuntimeException | Error e) {
                run.fail(e);
                throw e;
            }
        }
        return 0;
    }

    /**
     * The data-parallel engine called {@code name} on the class path. Spark comes with the {@code distributed}
     * module, which the single-machine jar leaves out (see {@code org.llamawb.distributed}).
     */
    static ParallelGradients.Engine engine(String name) {
        for (ParallelGradients.Engine e : ServiceLoader.load(ParallelGradients.Engine.class)) {
            if (e.name().equals(name)) {
                return e;
            }
        }
        throw new UsageException("--" + name + ": this workbench jar is built without Spark; run distributed/target/"
                + "workbench-spark.jar (./mvnw -pl distributed -am package; ./workbench uses it by itself when --spark is given)");
    }

    /** The resolved recipe as YAML, headed by the file it came from and the overrides as given. */
    static String resolvedRecipe(Path file, Recipe recipe, List<String> sets) {
        StringBuilder sb = new StringBuilder("# resolved from ").append(file);
        if (!sets.isEmpty()) {
            sb.append(" with");
            sets.forEach(s -> sb.append(" --set ").append(s.replace('\n', ' ')));
        }
        return sb.append('\n').append(RecipeLoader.toYaml(recipe)).toString();
    }

    /**
     * What can be checked before a run exists (so a refused recipe leaves no run behind): the pretrained
     * model opens and has a tokenizer (named by its recipe key when it is missing) whose ids all have an
     * embedding, and the chat template resolves.
     */
    static void checkModel(ModelSection m, String template) {
        if (m.path() == null) {
            // model.init: a new model over model.tokenizer, whose folder holds what `template: model` reads
            Path tokenizer = named("model.tokenizer", () -> Sources.resolve(m.tokenizer()));
            try (LlamaTokenizer tok = named("model.tokenizer", () -> LlamaTokenizer.load(tokenizer))) {
                checkTemplate(template, tok, tokenizer);
            }
            return;
        }
        // a Hub source is fetched here, once: the trainer finds it in the cache
        Path tokenizer = m.tokenizer() == null ? null : named("model.tokenizer", () -> Sources.resolve(m.tokenizer()));
        try (Checkpoint c = named("model.path", () -> Checkpoint.open(Sources.resolve(m.path())));
                LlamaTokenizer tok = LlamaTokenizer.forCheckpoint(c, tokenizer, "model.tokenizer")) {
            // the template as the trainer (and every other command) resolves it, without reading the weights
            checkTemplate(template, tok, LoadedModel.templateSource(c, tokenizer));
        }
    }

    /**
     * The adapter {@code adapter.init_from} names fits the base, checked from the files' headers before a run
     * exists (the trainer loads and checks it again; a scratch {@code model.init} is checked there only).
     */
    static void checkInitFrom(Recipe recipe) {
        String dir = recipe.adapter().initFrom();
        if (dir == null || recipe.model().path() == null) {
            return;
        }
        Path p = Path.of(dir);
        if (!Files.isDirectory(p)) {
            throw new BadInputException("adapter.init_from: " + p + " is not a directory (expected a PEFT adapter: "
                    + PeftAdapterFormat.CONFIG_FILE + " + " + PeftAdapterFormat.WEIGHTS_FILE + ")");
        }
        try (Checkpoint c = Checkpoint.open(Sources.resolve(recipe.model().path()))) {
            named("adapter.init_from", () -> {
                PeftAdapterFormat.checkFits(p, LlamaLayout.expected(c.config()));
                return p;
            });
        }
    }

    private static void checkTemplate(String template, LlamaTokenizer tok, Path location) {
        named("data.template", () -> ChatTemplates.resolve(template, tok, location));
    }

    /** Runs {@code open}; its one-line error gets the recipe key in front. */
    private static <T> T named(String key, java.util.function.Supplier<T> open) {
        try {
            return open.get();
        } catch (BadInputException e) {
            throw new BadInputException(key + ": " + e.getMessage(), e);
        }
    }

    /** Every data source exists, fetched when remote (the trainer reads them relative to the working directory too). */
    static void checkData(Recipe recipe) {
        List<DataSource> sources = recipe.data().sources();
        for (int i = 0; i < sources.size(); i++) {
            DataSource source = sources.get(i);
            Path p = named("data.sources[" + i + "].path", () -> source.file(Path.of("")));
            if (!Files.isRegularFile(p)) {
                throw new BadInputException("data.sources[" + i + "].path: " + p + ": data file not found");
            }
        }
        Set<DataFormat> fits = switch (recipe.methodKind()) {
            case DPO, REWARD -> EnumSet.of(DataFormat.PREFERENCE, DataFormat.HH, DataFormat.SHAREGPT_PAIRS,
                    DataFormat.OASST_PAIRS);
            case KTO -> EnumSet.of(DataFormat.KTO);
            case SFT -> null; // the SFT trainer refuses pair and KTO data itself
            case GRPO, PPO -> null; // any record with a prompt: prompts, conversations, pairs
        };
        if (fits != null) {
            for (int i = 0; i < sources.size(); i++) {
                checkKind(recipe, i, fits);
            }
        }
    }

    /**
     * Reads source {@code i} through (no tokenizing) before a run exists: data of another method's kind, a bad
     * record under {@code data.on_error: fail}, or a file with no usable record is refused with one line naming it.
     */
    private static void checkKind(Recipe recipe, int i, Set<DataFormat> fits) {
        DataSource src = recipe.data().sources().get(i);
        ReadOptions read = ReadOptions.skipping().withOnError(recipe.data().onErrorPolicy()).withFormat(src.dataFormat())
                .withColumns(src.columnMapping());
        Path file = Path.of(src.path());
        try (ExampleStream s = DatasetReader.open(file, read)) {
            while (s.hasNext()) {
                s.next();
                if (!fits.contains(s.format())) {
                    String use = switch (s.format()) {
                        case KTO -> "kto";
                        case PREFERENCE, HH, SHAREGPT_PAIRS, OASST_PAIRS -> "dpo or reward";
                        case SHAREGPT, OPENAI, ALPACA, OASST, PROMPTS -> "sft";
                    };
                    throw new BadInputException("data.sources[" + i + "] (" + file + "): '" + s.format().wireName()
                            + "' data does not train with method: " + recipe.method() + " (it needs "
                            + (fits.contains(DataFormat.KTO) ? "messages with a label" : "chosen/rejected pairs")
                            + "); use method: " + use);
                }
            }
            if (s.counts().examples() == 0) {
                throw new BadInputException("data.sources[" + i + "] (" + file + "): no usable record for method: "
                        + recipe.method() + " (" + s.counts().problems() + " skipped: " + s.counts().skippedByReason() + ")");
            }
        }
    }
}
