/**
 * The trainer every method shares ({@link org.llamawb.finetune.train.Trainer}): setup, the one
 * optimiser step ({@link org.llamawb.finetune.train.TrainingStep}), evaluation, checkpoints and resume,
 * progress and tracking. A method ({@link org.llamawb.finetune.train.TrainingMethod}) brings its batches,
 * its loss and its metrics; methods are composed into the trainer, never subclassed from it.
 *
 * <p>What a recipe sets up before its first step is a {@link org.llamawb.finetune.train.Replica}; the trainer
 * trains one, and data-parallel workers keep one each. With {@link org.llamawb.finetune.train.ParallelGradients}
 * the step's forward and backward passes run on those workers and the trainer applies their summed gradients
 * with the same {@link org.llamawb.finetune.train.TrainingStep#apply} (the {@code distributed} module provides the
 * Spark engine).
 */
package org.llamawb.finetune.train;
