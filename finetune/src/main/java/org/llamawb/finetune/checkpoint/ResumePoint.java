package org.llamawb.finetune.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.recipe.RecipeLoader;
import org.llamawb.model.BadInputException;

/**
 * The checkpoint a resumed run continues from, and how the recipe of the resuming command differs from the
 * one the checkpoint was trained with.
 *
 * <p>Only settings that say how long to train and what to do around the updates may change on resume; a
 * change to anything that shapes the trained tensors, the optimiser or the data order would silently train
 * the old run under a new name, so it is refused. Changeable ({@link #CHANGEABLE}):
 * <ul>
 *   <li>{@code train.max_steps}, {@code train.epochs}: how long to train. The learning-rate schedule is then
 *       computed over the new total from the resumed step on (as transformers does when resuming with a new
 *       {@code max_steps}); {@code max_steps} must lie beyond the checkpoint's step.</li>
 *   <li>{@code train.log_every_steps}, {@code train.max_consecutive_nonfinite}: logging cadence and a guard.</li>
 *   <li>{@code eval.every_steps}, {@code eval.max_batches}, {@code eval.on_start}, {@code eval.sample_prompts},
 *       {@code eval.sample_max_new_tokens}: evaluation reads the model, never changes it.</li>
 *   <li>{@code output.dir}, {@code output.save_every_steps}, {@code output.keep_last}: where and how often
 *       checkpoints are written (the directory may differ with {@code --resume-from}).</li>
 *   <li>{@code tracking.uri}, {@code tracking.experiment}, {@code tracking.run_name}: where the run is recorded.</li>
 * </ul>
 * Everything else (model, adapter, data, method sections, learning rate, batch sizes, seed, optimiser,
 * rematerialization) is refused with one line naming the key and both values.
 *
 * @param checkpoint the checkpoint directory
 * @param state its trainer state
 * @param changes the changed keys (all changeable), in key order
 * @param setAside newer checkpoints of the same directory that this resume abandons (damaged ones, or those
 *     after a {@code --resume-from} checkpoint)
 */
public record ResumePoint(Path checkpoint, TrainerState state, List<Change> changes, List<Path> setAside) {

    /** Recipe keys that may differ from the checkpoint's recipe when resuming (see the class comment). */
    public static final Set<String> CHANGEABLE = Set.of("train.max_steps", "train.epochs", "train.log_every_steps",
            "train.max_consecutive_nonfinite", "eval.every_steps", "eval.max_batches", "eval.on_start",
            "eval.sample_prompts", "eval.sample_max_new_tokens", "output.dir", "output.save_every_steps",
            "output.keep_last", "tracking.uri", "tracking.experiment", "tracking.run_name");

    /** Comment lines of a stored recipe that record the changes made on resumes. */
    static final String HISTORY_MARK = "# resumed at step ";

    /**
     * One allowed change.
     *
     * @param key the flattened recipe key ({@code train.max_steps})
     * @param before its value in the checkpoint's recipe ({@code null} when absent)
     * @param after its value now
     */
    public record Change(String key, String before, String after) {
        @Override
        public String toString() {
            return key + " " + before + " -> " + after;
        }
    }

    public ResumePoint {
        changes = List.copyOf(changes);
        setAside = List.copyOf(setAside);
    }

    /**
     * Finds where to resume: {@code explicit} when given (it must be a usable checkpoint), else the newest usable
     * checkpoint of {@code output.dir} (damaged newer ones are reported to {@code warn}). Then compares
     * {@code recipe} with the checkpoint's and refuses a change outside {@link #CHANGEABLE}. Changes nothing
     * on disk.
     *
     * @return empty when {@code output.dir} holds no checkpoint yet (and none was named)
     */
    public static Optional<ResumePoint> find(Recipe recipe, Path explicit, Consumer<String> warn) {
        CheckpointStore store = new CheckpointStore(Path.of(recipe.output().dir()), recipe.output().keepLast());
        Path checkpoint;
        if (explicit != null) {
            Optional<String> problem = CheckpointStore.problem(explicit);
            if (problem.isPresent()) {
                throw new BadInputException("--resume-from " + explicit + ": cannot be resumed from (" + problem.get() + ")");
            }
            checkpoint = explicit;
        } else {
            Optional<Path> newest = store.latestUsable(warn);
            if (newest.isEmpty()) {
                return Optional.empty();
            }
            checkpoint = newest.get();
        }
        TrainerState state = CheckpointStore.readState(checkpoint);
        List<Change> changes = compare(storedRecipe(checkpoint), recipe, checkpoint.getFileName().toString());
        long maxSteps = recipe.train().maxSteps();
        if (maxSteps > 0 && maxSteps <= state.step() && changes.stream().anyMatch(c -> c.key().equals("train.max_steps"))) {
            throw new BadInputException("train.max_steps: " + maxSteps + " is not beyond step " + state.step() + " of "
                    + checkpoint.getFileName() + ", where this run resumes");
        }
        boolean inRunDir = checkpoint.toAbsolutePath().normalize().getParent()
                .equals(Path.of(recipe.output().dir()).toAbsolutePath().normalize());
        List<Path> newer = inRunDir ? store.newerThan(checkpoint) : store.list();
        return Optional.of(new ResumePoint(checkpoint, state, changes, newer));
    }

    /** The recipe a checkpoint was trained with. */
    static Recipe storedRecipe(Path checkpoint) {
        try {
            return RecipeLoader.load(checkpoint.resolve(CheckpointStore.RECIPE_FILE), Recipe.class, List.of());
        } catch (BadInputException e) {
            throw new BadInputException(checkpoint.getFileName() + ": its recipe no longer reads (" + e.getMessage() + ")", e);
        }
    }

    /** The changes from {@code before} to {@code now}; the first key outside {@link #CHANGEABLE} is refused. */
    static List<Change> compare(Recipe before, Recipe now, String checkpointName) {
        Map<String, String> a = RecipeLoader.flatten(before);
        Map<String, String> b = RecipeLoader.flatten(now);
        Set<String> keys = new TreeSet<>(a.keySet());
        keys.addAll(b.keySet());
        List<Change> out = new ArrayList<>();
        for (String k : keys) {
            String x = a.get(k);
            String y = b.get(k);
            if (x == null ? y == null : x.equals(y)) {
                continue;
            }
            if (!CHANGEABLE.contains(k)) {
                throw new BadInputException(k + ": " + x + " in " + checkpointName + "'s recipe, " + y + " now; it cannot "
                        + "change when resuming (only " + String.join(", ", new TreeSet<>(CHANGEABLE)) + " can): "
                        + "drop the change or train a new run in another output.dir");
            }
            out.add(new Change(k, x, y));
        }
        return out;
    }

    /**
     * The recipe to store in this run's next checkpoints: {@code resolvedYaml} headed by the resume history of
     * the checkpoint's recipe and, when this resume changed settings, a line naming them.
     */
    public String recipeToStore(String resolvedYaml) {
        StringBuilder sb = new StringBuilder();
        try {
            for (String line : Files.readAllLines(checkpoint.resolve(CheckpointStore.RECIPE_FILE), StandardCharsets.UTF_8)) {
                if (line.startsWith(HISTORY_MARK)) {
                    sb.append(line).append('\n');
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (!changes.isEmpty()) {
            sb.append(HISTORY_MARK).append(state.step()).append(" with ")
                    .append(String.join(", ", changes.stream().map(Change::toString).toList())).append('\n');
        }
        return sb + resolvedYaml;
    }
}
