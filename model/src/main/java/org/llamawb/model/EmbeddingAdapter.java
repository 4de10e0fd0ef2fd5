package org.llamawb.model;

import ai.djl.ndarray.NDArray;

/**
 * Something that changes what the token embedding gives for some ids without renaming or replacing its
 * weight (PEFT's trainable tokens: chosen rows take trained values). Attached by the adapters module.
 */
public interface EmbeddingAdapter {

    /** The embeddings of {@code ids: [B, T]}, given {@code base: [B, T, d]} that the unchanged weight gives. */
    NDArray forward(NDArray ids, NDArray base);

    /** Whether a backward pass through the embedding reaches tensors that are being trained. */
    boolean trainable();
}
