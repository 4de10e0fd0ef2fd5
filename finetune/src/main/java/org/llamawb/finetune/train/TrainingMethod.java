package org.llamawb.finetune.train;

import ai.djl.ndarray.NDArray;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import org.llamawb.datasets.batch.LoadedBatch;
import org.llamawb.datasets.batch.LoaderPosition;

/**
 * What a training method brings to the {@link Trainer}: its batches, its loss (a {@link TrainingStep.Loss}),
 * its metrics and its evaluation. Everything else (the step, the schedule,
 * checkpoints, resume, progress, tracking) is the trainer's.
 *
 * @param <B> the method's micro-batch
 */
public interface TrainingMethod<B> {

    /** What one training step computes on this method's micro-batches. */
    TrainingStep.Loss<B> loss();

    /** Micro-batches in one epoch of the training split. */
    int batchesInEpoch(int epoch);

    /** The training micro-batches from {@code start} on, across epochs without end (a resumable order). */
    Iterator<LoadedBatch<B>> batches(LoaderPosition start);

    /** Training examples (after mixing) and held-out examples, for the run's parameters. */
    long trainExamples();

    long validationExamples();

    /**
     * The method's own metrics since the last call, with the names TRL logs (e.g. {@code rewards/margins});
     * empty for methods that have none beyond the loss.
     */
    Map<String, Double> takeMetrics();

    /**
     * The accumulator behind {@link #takeMetrics} (what was added since the last call): the trainer keeps its
     * contents in checkpoints. A method without metrics of its own returns an empty one.
     */
    default MetricMeans metricMeans() {
        return new MetricMeans();
    }

    /**
     * Metrics on the held-out split without gradients, adapters in evaluation mode; {@code loss} is among them
     * for methods that have a held-out loss (online methods report the reward of their completions instead).
     * Empty when there is no held-out split.
     *
     * @param maxBatches at most this many batches (0 = all)
     */
    Map<String, Double> evaluate(int maxBatches);

    /**
     * Trainable tensors outside the model (a reward model's {@code score}) by module name: the trainer
     * optimises them with the adapter, saves them in it as PEFT {@code modules_to_save} heads and restores
     * them on resume. Empty for methods that train only the model's parameters.
     */
    default Map<String, NDArray> heads() {
        return Map.of();
    }

    /**
     * Trainable tensors the method keeps apart from the run's adapter (PPO's critic adapter and value head), under
     * names unique among the optimiser's parameters: the trainer optimises them with the adapter; the method writes
     * them into each checkpoint ({@link #saveState}) and reads them back on resume ({@link #restoreState}). Empty for
     * methods that train only the adapter (and its {@link #heads()}).
     */
    default Map<String, NDArray> companions() {
        return Map.of();
    }

    /** Writes what a resumed run needs beyond the adapter and optimiser (companions, controller state) into {@code checkpoint}. */
    default void saveState(Path checkpoint) {}

    /** Restores what {@link #saveState} wrote, before the resumed run's first batch is drawn. */
    default void restoreState(Path checkpoint) {}
}
