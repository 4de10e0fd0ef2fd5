package org.llamawb.model;

import ai.djl.ndarray.NDArray;

/**
 * A projection {@code y = x·Wᵀ (+ b)} with {@code W: [out, in]} under its Hugging Face name
 * ({@code model.layers.3.self_attn.q_proj}). An optional {@link LinearAdapter} sits beside the weight.
 */
public final class Linear {
    private final String name;
    private NDArray weight; // [out, in]
    private NDArray bias; // [out] or null
    private LinearAdapter adapter;

    Linear(String name, NDArray weight, NDArray bias) {
        this.name = name;
        this.weight = weight;
        this.bias = bias;
    }

    /** {@code x: [..., in]} to {@code [..., out]}. */
    public NDArray forward(NDArray x) {
        NDArray base = project(x);
        return adapter == null ? base : adapter.forward(this, x, base);
    }

    /** The base projection alone, without the adapter. */
    public NDArray project(NDArray x) {
        return bias == null
                ? ai.djl.nn.core.Linear.linear(x, weight).singletonOrThrow()
                : ai.djl.nn.core.Linear.linear(x, weight, bias).singletonOrThrow();
    }

    /** Module path, e.g. {@code model.layers.0.self_attn.q_proj} (tensors add {@code .weight}). */
    public String name() {
        return name;
    }

    /** The last component of the name, e.g. {@code q_proj}: what LoRA's target_modules match. */
    public String kind() {
        return name.substring(name.lastIndexOf('.') + 1);
    }

    public NDArray weight() {
        return weight;
    }

    public NDArray bias() {
        return bias;
    }

    public long inFeatures() {
        return weight.getShape().get(1);
    }

    public long outFeatures() {
        return weight.getShape().get(0);
    }

    public LinearAdapter adapter() {
        return adapter;
    }

    public void setAdapter(LinearAdapter adapter) {
        this.adapter = adapter;
    }

    void setWeight(NDArray w) {
        this.weight = w;
    }

    void setBias(NDArray b) {
        this.bias = b;
    }
}
