package org.llamawb.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Root-mean-square layer normalisation (Zhang and Sennrich, 2019), LLaMA's pre-normalisation:
 * {@code y = x / sqrt(mean(x²) + eps) * weight}, over the last dimension.
 */
public final class RmsNorm {
    private final String name;
    private NDArray weight; // [d]
    private final NDArray eps; // 0-d; never a Java scalar operand (those corrupt gradients in DJL)
    private final NDArray minusHalf; // 0-d

    RmsNorm(String name, NDArray weight, double eps, NDManager constants) {
        this.name = name;
        this.weight = weight;
        this.eps = constants.full(new Shape(), (float) eps, DataType.FLOAT32);
        this.minusHalf = constants.full(new Shape(), -0.5f, DataType.FLOAT32);
        NDScope.unregister(this.eps, this.minusHalf);
    }

    /** {@code x: [..., d]} to {@code [..., d]}. */
    public NDArray forward(NDArray x) {
        return x.mul(inverseRms(x)).mul(weight);
    }

    /** The reciprocal RMS {@code 1/sqrt(mean(x²)+eps)}, {@code [..., 1]}; used by hand-written backward passes. */
    public NDArray inverseRms(NDArray x) {
        return x.square().mean(new int[] {-1}, true).add(eps).pow(minusHalf);
    }

    /** Hugging Face name of the weight, e.g. {@code model.layers.0.input_layernorm.weight}. */
    public String name() {
        return name;
    }

    public NDArray weight() {
        return weight;
    }

    void setWeight(NDArray w) {
        this.weight = w;
    }
}
