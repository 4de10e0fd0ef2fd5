package org.llamawb.eval.run;

import java.io.PrintStream;
import java.util.List;
import org.llamawb.eval.report.ShardRun;
import org.llamawb.eval.task.Task;

/**
 * Evaluation spread over the workers of a cluster: each worker holds the model (opened once, by its first task)
 * and scores its {@link org.llamawb.eval.task.Shard} of every task with {@link TaskRunners#score}, the code one
 * process runs; the {@link Evaluator} merges the workers' records with {@link TaskRunners#merge} into the report
 * one process writes. The {@code distributed} module provides Spark's, found by {@link java.util.ServiceLoader},
 * so the single-machine command line does not depend on it.
 */
public interface ShardedScoring extends AutoCloseable {

    /** How many workers share each task. */
    int workers();

    /** The scoring window of the workers' model (the report's {@code max_length}). */
    int maxLength();

    /** Whether the workers' model puts BOS before a context (the report's {@code add_bos}). */
    boolean addBos();

    /**
     * Scores {@code task} (its shots already the ones to use) on every worker, each its own shard.
     *
     * @param adapter a PEFT adapter folder (absolute) the workers attach first, or null for the base model
     * @return one run per worker, in worker order
     */
    List<ShardRun> score(Task task, String adapter);

    @Override
    void close();

    /** A cluster to evaluate on, found on the class path by {@link java.util.ServiceLoader}. */
    interface Engine {
        /** The engine's name as the command line's flag says it ({@code spark}). */
        String name();

        /**
         * Connects to the cluster at {@code master} and opens {@code model} on its workers.
         *
         * @param workers how many workers share each task (0: one per executor core the cluster gives)
         */
        ShardedScoring connect(String master, int workers, WorkerModel model, EvalSettings settings, PrintStream out);
    }
}
