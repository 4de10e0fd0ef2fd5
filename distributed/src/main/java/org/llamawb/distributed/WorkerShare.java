package org.llamawb.distributed;

import java.io.Serializable;
import java.util.Map;
import org.llamawb.finetune.train.TrainingStep;

/**
 * What one worker sends back for a step: the sums of its micro-batches and the gradient of their summed
 * (unscaled) loss, every trainable tensor flattened one after another in the replica's parameter order, and the
 * method's metrics of each of its micro-batches.
 *
 * @param gradient the concatenated gradients (all zero when the worker had no micro-batch with a trained unit)
 * @param metrics by the micro-batch's index in the step: what the method's {@link
 *     org.llamawb.finetune.train.MetricMeans} gathered in it (sums and counts by name); absent for a micro-batch
 *     without metrics
 * @param computeNanos the worker's time for its forward and backward passes (and loading the values it was sent)
 * @param process what the share cost the executor's JVM (null where nothing ran, as in the all-reduce bench)
 */
record WorkerShare(double lossSum, long tokens, long units, long trainedTokens, float[] gradient,
        Map<Integer, Map<String, double[]>> metrics, long computeNanos, WorkerProcess process) implements Serializable {

    TrainingStep.Sums sums() {
        return new TrainingStep.Sums(lossSum, tokens, units, trainedTokens);
    }
}
