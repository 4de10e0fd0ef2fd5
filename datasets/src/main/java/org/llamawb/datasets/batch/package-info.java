/**
 * Batches for the training loops: {@link org.llamawb.datasets.batch.TokenizedDataset} (compact token
 * storage), {@link org.llamawb.datasets.batch.DataLoader} (seeded order per epoch, padding, length
 * grouping or packing with position and segment ids, resumable at a
 * {@link org.llamawb.datasets.batch.LoaderPosition}), {@link org.llamawb.datasets.batch.PairLoader} for
 * preference pairs, and {@link org.llamawb.datasets.batch.BatchEfficiency} (how much of each batch is
 * padding).
 */
package org.llamawb.datasets.batch;
