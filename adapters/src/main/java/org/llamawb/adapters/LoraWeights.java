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
 * @param magnitude DoRA's {@code lora_magnitude_vector} {@code [out]}: the length of each row of the adapted
 *     weight; null for plain LoRA
 */
public record LoraWeights(NDArray a, NDArray b, NDArray scaling, double scalingValue, double dropout, NDArray magnitude) {

    public long rank() {
        return a.getShape().get(0);
    }

    /** Whether this is a DoRA adapter (it has a magnitude vector). */
    public boolean isDora() {
        return magnitude != null;
    }

    /** {@code ΔW = scaling · B · A}, {@code [out, in]}. */
    public NDArray delta() {
        return b.matMul(a).mul(scalingValue);
    }

    /**
     * DoRA's row norms {@code ‖W + scaling·B·A‖₂} over the input dimension, {@code [out]}, outside the autograd
     * graph: PEFT detaches them (DoRA paper §4.3: the norm is treated as a constant), so only the magnitude and,
     * through the update's direction, A and B receive gradients.
     */
    public NDArray weightNorm(NDArray weight) {
        NDArray ba = b.stopGradient().matMul(a.stopGradient()); // [out, in]
        return weight.stopGradient().add(ba.mul(scaling)).square().sum(new int[] {1}).sqrt(); // [out]
    }
}
