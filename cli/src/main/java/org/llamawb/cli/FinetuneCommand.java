package org.llamawb.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.finetune.train.Trainer;
import org.llamawb.tracking.RunSpec;
import org.llamawb.tracking.TrackedRun;
import org.llamawb.tracking.Tracker;
import org.llamawb.tracking.TrackingSettings;

/** {@code workbench finetune RECIPE.yaml [--set key=value ...] [--resume]}: the method the recipe names. */
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
        o.addOption(Flags.opt("tracking-uri", "URI", "MLflow tracking server (else tracking.uri, else MLFLOW_TRACKING_URI)"));
        Flags f = Flags.parse("finetune RECIPE.yaml [--set key=value ...] [--resume] [--tracking-uri URI]", o, args);
        if (f == null) {
            return 0;
        }
        if (f.positional().size() != 1) {
            throw new UsageException("finetune: name exactly one recipe file (got " + f.positional().size() + ")");
        }
        Path file = Path.of(f.positional().get(0));
        Recipe recipe = RecipeLoader.load(file, Recipe.class, f.strings("set"));
        Path outputDir = Path.of(recipe.output().dir());
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
                        + (recipe.adapter().isLora() ? "LoRA r=" + recipe.adapter().r() : "every parameter trained")
                        + " on " + recipe.data().sources().size() + " source(s); rematerialization "
                        + recipe.train().rematerialization());
        try (TrackedRun run = new Tracker(settings).start(spec)) {
            run.logArtifact(file, "");
            try {
                Trainer.Result result = Trainer.run(new Trainer.Options(recipe, f.has("resume"), run, System.err));
                run.finish();
                System.out.println("done: " + result.steps() + " steps; output " + result.output());
            } catch (RuntimeException | Error e) {
                run.fail(e);
                throw e;
            }
            run.awaitDelivery(Duration.ofSeconds(30));
        }
        return 0;
    }
}
