package org.llamawb.finetune.sft;

import org.llamawb.datasets.batch.Batch;
import org.llamawb.finetune.remat.ForwardBackward;
import org.llamawb.finetune.remat.Rematerialization;
import org.llamawb.finetune.train.TrainingStep;
import org.llamawb.model.Llama;

/**
 * The SFT loss of a micro-batch: the summed next-token loss of its labelled tokens, back-propagated under
 * a rematerialisation policy. The trainer and {@code bench train} both step with it.
 */
public record SftLoss(Llama model, Rematerialization policy) implements TrainingStep.Loss<Batch> {

    @Override
    public double lossAndBackward(Batch batch, double scale, long seed) {
        return ForwardBackward.run(model, batch, scale, policy, seed, model.manager());
    }

    @Override
    public long units(Batch batch) {
        return batch.trainedTokens();
    }

    @Override
    public long tokens(Batch batch) {
        return batch.slots();
    }

    @Override
    public long trainedTokens(Batch batch) {
        return batch.trainedTokens();
    }
}
