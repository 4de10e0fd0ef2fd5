package org.llamawb.adapters;

import ai.djl.ndarray.NDArray;

/**
 * One adapter's factors on one projection: the update is {@code ΔW = scaling · B · A}.
 *
 * @param a {@code lora_A} {@code [r, in]}
 * @param b {@code lora_B} {@code [out, r]}
 * @param scaling {@code alpha / r} (or {@code alpha / √r}) as a 0-d array, so autograd never sees a Java scalar
 * @param scalingValue the same number, for merging
 * @param dropout dropout probability on the adapter input during training
 */
public record LoraWeights(NDArray a, NDArray b, NDArray scaling, double scalingValue, double dropout) {

    public long rank() {
        return a.getShape().get(0);
    }

    /** {@code ΔW = scaling · B · A}, {@code [out, in]}. */
    public NDArray delta() {
        return b.matMul(a).mul(scalingValue);
    }
}
