package org.llamawb.finetune.recipe;

import org.llamawb.finetune.optim.AdamW;
import org.llamawb.finetune.optim.LrSchedule;
import org.llamawb.finetune.remat.Rematerialization;
import org.llamawb.model.BadInputException;
import org.llamawb.model.ComputePrecision;

/**
 * The optimisation schedule.
 *
 * @param epochs passes over the training split (used when {@code max_steps} is absent)
 * @param maxSteps optimiser steps; overrides epochs
 * @param microBatchSize rows per forward pass
 * @param gradientAccumulationSteps micro-batches per optimiser step
 * @param learningRate peak learning rate
 * @param lrSchedule {@code constant}, {@code linear} or {@code cosine}
 * @param warmupSteps linear warm-up from 0
 * @param weightDecay decoupled weight decay (never on norms and biases)
 * @param adamBeta1 AdamW β₁
 * @param adamBeta2 AdamW β₂
 * @param adamEpsilon AdamW ε
 * @param maxGradNorm global-norm clipping threshold (0 = off)
 * @param seed seeds data order, adapter initialisation and dropout
 * @param rematerialization {@code none}, {@code full}, {@code hybrid} or {@code hybrid-lean}
 * @param maxConsecutiveNonfinite a NaN/infinite loss skips the step; this many in a row stop the run
 * @param logEverySteps progress line and metrics every N steps
 * @param precision {@code fp32} or {@code bf16}: the number format of the model's GEMMs, forward and backward
 *     ({@link ComputePrecision}); with {@code bf16}, LoRA weights, gradients, optimiser state, norms' statistics and
 *     the loss stay float32, and a CPU without bfloat16 instructions computes in fp32 (the run says so)
 */
public record TrainSection(
        Integer epochs,
        Integer maxSteps,
        Integer microBatchSize,
        Integer gradientAccumulationSteps,
        Double learningRate,
        String lrSchedule,
        Integer warmupSteps,
        Double weightDecay,
        Double adamBeta1,
        Double adamBeta2,
        Double adamEpsilon,
        Double maxGradNorm,
        Long seed,
        String rematerialization,
        Integer maxConsecutiveNonfinite,
        Integer logEverySteps,
        String precision) {

    static TrainSection defaults() {
        return new TrainSection(null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null);
    }

    public TrainSection {
        epochs = epochs == null ? 1 : epochs;
        maxSteps = maxSteps == null ? 0 : maxSteps;
        microBatchSize = microBatchSize == null ? 4 : microBatchSize;
        gradientAccumulationSteps = gradientAccumulationSteps == null ? 1 : gradientAccumulationSteps;
        learningRate = learningRate == null ? 2e-4 : learningRate;
        lrSchedule = lrSchedule == null ? "cosine" : lrSchedule;
        warmupSteps = warmupSteps == null ? 0 : warmupSteps;
        weightDecay = weightDecay == null ? 0.0 : weightDecay;
        adamBeta1 = adamBeta1 == null ? 0.9 : adamBeta1;
        adamBeta2 = adamBeta2 == null ? 0.999 : adamBeta2;
        adamEpsilon = adamEpsilon == null ? 1e-8 : adamEpsilon;
        maxGradNorm = maxGradNorm == null ? 1.0 : maxGradNorm;
        seed = seed == null ? 42L : seed;
        rematerialization = rematerialization == null ? "none" : rematerialization;
        maxConsecutiveNonfinite = maxConsecutiveNonfinite == null ? 5 : maxConsecutiveNonfinite;
        logEverySteps = logEverySteps == null ? 1 : logEverySteps;
        precision = precision == null ? "fp32" : precision;
        if (epochs <= 0) {
            throw new BadInputException("train.epochs must be > 0, got " + epochs);
        }
        if (maxSteps < 0) {
            throw new BadInputException("train.max_steps must be >= 0, got " + maxSteps);
        }
        if (microBatchSize <= 0) {
            throw new BadInputException("train.micro_batch_size must be > 0, got " + microBatchSize);
        }
        if (gradientAccumulationSteps <= 0) {
            throw new BadInputException("train.gradient_accumulation_steps must be > 0, got " + gradientAccumulationSteps);
        }
        if (!(learningRate > 0)) {
            throw new BadInputException("train.learning_rate must be > 0, got " + learningRate);
        }
        if (warmupSteps < 0) {
            throw new BadInputException("train.warmup_steps must be >= 0, got " + warmupSteps);
        }
        if (!(maxGradNorm >= 0)) {
            throw new BadInputException("train.max_grad_norm must be >= 0 (0 = no clipping), got " + maxGradNorm);
        }
        if (maxConsecutiveNonfinite <= 0) {
            throw new BadInputException("train.max_consecutive_nonfinite must be > 0");
        }
        if (logEverySteps <= 0) {
            throw new BadInputException("train.log_every_steps must be > 0");
        }
        LrSchedule.parse(lrSchedule);
        Rematerialization.parse(rematerialization);
        ComputePrecision.parse(precision, "train.precision");
        new AdamW.Settings(adamBeta1, adamBeta2, adamEpsilon, weightDecay); // validates
    }

    public LrSchedule schedule() {
        return LrSchedule.parse(lrSchedule);
    }

    public Rematerialization policy() {
        return Rematerialization.parse(rematerialization);
    }

    /** The precision the recipe asks for; what a run computes in is {@link ComputePrecision#resolve}d on its CPU. */
    public ComputePrecision computePrecision() {
        return ComputePrecision.parse(precision, "train.precision");
    }

    public AdamW.Settings adamSettings() {
        return new AdamW.Settings(adamBeta1, adamBeta2, adamEpsilon, weightDecay);
    }
}
