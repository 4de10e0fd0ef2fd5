package org.llamawb.finetune.train;

import ai.djl.ndarray.NDArray;
import java.io.PrintStream;
import java.util.Map;
import org.llamawb.datasets.batch.LoaderPosition;
import org.llamawb.finetune.recipe.Recipe;

/**
 * Data-parallel gradients: the forward and backward passes of each step run on workers that each hold a
 * {@link Replica} of the recipe, and the trainer (one process) applies the summed gradients with the same
 * clipping and optimiser step as when it computes them itself ({@link TrainingStep#apply}). Everything else
 * (data order, schedule, evaluation, checkpoints, tracking) stays the trainer's.
 */
public interface ParallelGradients extends AutoCloseable {

    /**
     * Runs on the workers the step whose micro-batches are the {@code count} that the method's order yields
     * from {@code start} (micro-batch {@code i} with dropout seed {@code seedBase + i}), with the values
     * {@code params} hold now, and leaves in every tensor of {@code params} the gradient of the step's mean loss
     * ({@code Σ loss / Σ units} over all workers). Each micro-batch is computed whole by one worker, so whatever a
     * method estimates per micro-batch (KTO's KL term, a reference pass) is what one process estimates.
     *
     * @param metrics where the method's per-micro-batch metrics (what the workers' {@link MetricMeans} gathered) go,
     *     merged micro-batch by micro-batch in the step's order, as one process adds them
     * @return the whole step's sums (every worker's added up)
     */
    TrainingStep.Sums gradients(LoaderPosition start, int count, long seedBase, Map<String, NDArray> params,
            MetricMeans metrics);

    /** How many workers share each step. */
    int workers();

    /**
     * What the workers and the exchange took in the last step, logged with the step's metrics (e.g.
     * {@code data_parallel/exchange_seconds}, {@code data_parallel/worker_0_seconds}); empty when nothing is measured.
     */
    default Map<String, Double> stepMetrics() {
        return Map.of();
    }

    @Override
    void close();

    /**
     * An engine that runs {@link ParallelGradients}, found on the class path by {@link java.util.ServiceLoader}
     * (the {@code distributed} module provides Spark's), so the single-machine command line does not depend on it.
     */
    interface Engine {
        /** The engine's name as the command line's flag says it ({@code spark}). */
        String name();

        /**
         * Connects to the cluster at {@code master} and prepares the workers for {@code recipe} (whose relative
         * paths are relative to this process's working directory).
         *
         * @param workers how many workers share each step (0: one per executor core the cluster gives)
         */
        ParallelGradients connect(String master, int workers, Recipe recipe, PrintStream out);
    }
}
