package org.llamawb.datasets.batch;

/**
 * A batch with its place in the stream: {@code position} is where it was taken, {@code next} where the
 * loader resumes after it (save {@code next} with a checkpoint taken after training on this batch).
 */
public record LoadedBatch<B>(B batch, LoaderPosition position, LoaderPosition next) {}
