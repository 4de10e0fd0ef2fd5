/**
 * The trainer every method shares ({@link org.llamawb.finetune.train.Trainer}): setup, the one
 * optimiser step ({@link org.llamawb.finetune.train.TrainingStep}), evaluation, checkpoints and resume,
 * progress and tracking. A method ({@link org.llamawb.finetune.train.TrainingMethod}) brings its batches,
 * its loss and its metrics; methods are composed into the trainer, never subclassed from it.
 */
package org.llamawb.finetune.train;
