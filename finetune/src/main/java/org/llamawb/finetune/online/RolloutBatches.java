package org.llamawb.finetune.online;

import java.util.Iterator;
import java.util.List;
import org.llamawb.datasets.batch.LoadedBatch;
import org.llamawb.datasets.batch.LoaderPosition;
import org.llamawb.finetune.train.NativeHeap;
import org.llamawb.model.BadInputException;

/**
 * An online method's micro-batches from a data position on, across epochs without end. Each epoch is
 * {@code rolloutsInEpoch} rollout batches (GRPO's generation batches); each rollout batch, made on first use, holds
 * {@code microBatches} micro-batches and serves {@code passes} passes over them (GRPO's {@code num_iterations}, PPO's
 * {@code num_ppo_epochs}), so the data position counts {@code microBatches · passes} per rollout batch.
 *
 * <p>Rollouts are not saved: a position must be the first micro-batch of a rollout batch to continue from it, which
 * holds when checkpoints fall between rollout batches (the recipes check {@code output.save_every_steps}). The
 * rollout function gets the batch's index over the run and its place in the epoch, so its prompts and sampling seeds
 * can be functions of the data position alone.
 *
 * @param <B> the method's micro-batch
 */
public final class RolloutBatches<B> implements Iterator<LoadedBatch<B>> {

    /** Makes rollout batch {@code index} (counted over the run), batch {@code inEpoch} of {@code epoch}. */
    @FunctionalInterface
    public interface Rollout<B> {
        List<B> make(long index, int epoch, int inEpoch);
    }

    /** The micro-batch (of a rollout batch's list) that serves slot {@code slot} of pass {@code pass} of batch {@code index}. */
    @FunctionalInterface
    public interface Order {
        int pick(long index, int pass, int slot);

        /** Every pass in the order the rollout made them. */
        Order AS_MADE = (index, pass, slot) -> slot;
    }

    /**
     * What the error for a position inside a rollout batch names.
     *
     * @param method the method as users know it ({@code GRPO})
     * @param batch what a rollout batch is called ({@code generation batch})
     * @param stepsKey the recipe keys whose product is the optimiser steps per rollout batch
     */
    public record Names(String method, String batch, String stepsKey) {}

    private final int rolloutsInEpoch;
    private final int microBatches;
    private final int perEpoch;
    private final int perRollout;
    private final Names names;
    private final Rollout<B> rollout;
    private final Order order;
    private LoaderPosition at;
    private long cachedIndex = -1;
    private List<B> cached;

    /**
     * @param start where to continue (a batch past the epoch's end carries into the next epochs)
     * @param microBatches micro-batches a rollout batch makes
     * @param passes passes over them (updates per rollout batch)
     */
    public RolloutBatches(LoaderPosition start, int rolloutsInEpoch, int microBatches, int passes, Names names,
            Rollout<B> rollout, Order order) {
        this.rolloutsInEpoch = rolloutsInEpoch;
        this.microBatches = microBatches;
        this.perRollout = microBatches * passes;
        this.perEpoch = rolloutsInEpoch * perRollout;
        this.names = names;
        this.rollout = rollout;
        this.order = order;
        this.at = new LoaderPosition(start.epoch() + (int) (start.batch() / perEpoch), start.batch() % perEpoch);
    }

    @Override
    public boolean hasNext() {
        return true;
    }

    @Override
    public LoadedBatch<B> next() {
        LoaderPosition here = at;
        int inEpoch = (int) (here.batch() / perRollout);
        int within = (int) (here.batch() % perRollout);
        long index = (long) here.epoch() * rolloutsInEpoch + inEpoch;
        if (index != cachedIndex) {
            if (within != 0) {
                throw new BadInputException("cannot continue " + names.method() + " at data position " + here + ": it lies "
                        + "inside a " + names.batch() + " whose rollouts were not saved (checkpoints at multiples of "
                        + names.stepsKey() + " resume exactly)");
            }
            cached = rollout.make(index, here.epoch(), inEpoch);
            cachedIndex = index;
            // the rollout's passes without gradients just freed their logits and temporaries; returning those pages
            // keeps them out of the peak of the update that builds its graph next (as DPO's reference pass)
            NativeHeap.trim();
        }
        B b = cached.get(order.pick(index, within / microBatches, within % microBatches));
        at = here.batch() + 1 < perEpoch ? new LoaderPosition(here.epoch(), here.batch() + 1)
                : new LoaderPosition(here.epoch() + 1, 0);
        return new LoadedBatch<>(b, here, at);
    }
}
