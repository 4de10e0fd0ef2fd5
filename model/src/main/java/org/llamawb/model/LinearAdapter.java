package org.llamawb.model;

import ai.djl.ndarray.NDArray;

/**
 * Something that changes what a {@link Linear} computes without renaming or replacing its weight
 * (LoRA adds {@code s·B·A·x} beside the frozen {@code W·x}). Attached by the adapters module.
 */
public interface LinearAdapter {

    /**
     * The layer's output for input {@code x: [..., in]}, given the base output {@code base: [..., out]}
     * that the unchanged weight produces.
     */
    NDArray forward(Linear layer, NDArray x, NDArray base);
}
