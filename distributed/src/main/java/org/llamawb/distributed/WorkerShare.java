package org.llamawb.distributed;

import java.io.Serializable;
import org.llamawb.finetune.train.TrainingStep;

/**
 * What one worker sends back for a step: the sums of its micro-batches and the gradient of their summed
 * (unscaled) loss, every trainable tensor flattened one after another in the replica's parameter order.
 *
 * @param gradient the concatenated gradients (all zero when the worker had no micro-batch with a trained unit)
 * @param computeNanos the worker's time for its forward and backward passes (and loading the values it was sent)
 */
record WorkerShare(double lossSum, long tokens, long units, long trainedTokens, float[] gradient, long computeNanos)
        implements Serializable {

    TrainingStep.Sums sums() {
        return new TrainingStep.Sums(lossSum, tokens, units, trainedTokens);
    }
}
