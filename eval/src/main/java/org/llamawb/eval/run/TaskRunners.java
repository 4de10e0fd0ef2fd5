package org.llamawb.eval.run;

import java.util.List;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.generation.ExactMatchTaskRunner;
import org.llamawb.eval.generation.GenerationTaskRunner;
import org.llamawb.eval.report.ShardRun;
import org.llamawb.eval.report.TaskRun;
import org.llamawb.eval.task.Shard;
import org.llamawb.eval.task.Task;

/**
 * Every task kind cut at the example: {@link #score} runs the model over one {@link Shard} of a task's examples
 * and returns their per-example records, {@link #merge} computes the task's metrics from the records of all its
 * shards. One process scores {@link Shard#ALL}; workers of a cluster ({@link ShardedScoring}) each score their
 * shard with this same method, and the driver merges, so both compute every example alike.
 */
public final class TaskRunners {
    private TaskRunners() {}

    /** Scores {@code shard} of {@code task} (whose shots are already the ones to use) on {@code model}. */
    public static ShardRun score(Task task, EvalModel model, EvalSettings settings, Shard shard) {
        int limit = settings.limit();
        return switch (task.spec().kind()) {
            case MULTIPLE_CHOICE, PARTIAL_CHOICE, COMPLETION -> ChoiceTaskRunner.score(task, model,
                    settings.scoring(model.maxLength()), limit, shard);
            case PERPLEXITY -> PerplexityTaskRunner.score(task, model, settings.scoring(model.maxLength()), limit, shard);
            case DIALOGUE_LOSS -> DialogueLossTaskRunner.score(task, model, settings.scoring(model.maxLength()), limit, shard);
            case GENERATION -> GenerationTaskRunner.score(task, model, limit, shard);
            case EXACT_MATCH -> ExactMatchTaskRunner.score(task, model, limit, shard);
        };
    }

    /**
     * The task's result from its shards' runs, in worker order.
     *
     * @param seconds the task's wall time
     */
    public static TaskRun merge(Task task, List<ShardRun> shards, double seconds) {
        return switch (task.spec().kind()) {
            case MULTIPLE_CHOICE, PARTIAL_CHOICE, COMPLETION -> ChoiceTaskRunner.merge(task, shards, seconds);
            case PERPLEXITY -> PerplexityTaskRunner.merge(task, shards, seconds);
            case DIALOGUE_LOSS -> DialogueLossTaskRunner.merge(task, shards, seconds);
            case GENERATION -> GenerationTaskRunner.merge(task, shards, seconds);
            case EXACT_MATCH -> ExactMatchTaskRunner.merge(task, shards, seconds);
        };
    }
}
