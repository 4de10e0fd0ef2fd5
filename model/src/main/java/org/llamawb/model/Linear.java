package org.llamawb.model;

import ai.djl.ndarray.NDArray;
import org.llamawb.model.quant.QuantizedWeight;

/**
 * A projection {@code y = x·Wᵀ (+ b)} with {@code W: [out, in]} under its Hugging Face name
 * ({@code model.layers.3.self_attn.q_proj}). An optional {@link LinearAdapter} sits beside the weight.
 * A frozen weight may be kept quantised ({@link QuantizedWeight}): it is then dequantised on each use.
 */
public final class Linear {
    private final String name;
    private NDArray weight; // [out, in]; null while quantized holds it
    private QuantizedWeight quantized;
    private NDArray bias; // [out] or null
    private LinearAdapter adapter;
    private ComputePrecision precision = ComputePrecision.FP32; // of the base GEMM; the adapter keeps its own

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
        NDArray w = weight(); // a quantised weight lives as float32 only for this product (and its backward)
        if (precision == ComputePrecision.BF16) {
            // bfloat16 copies of x and w exist only inside libtorch, for this product and its backward; a graph is
            // recorded only where grad mode is on (inside a gradient collector)
            return Kernels.get().linearBf16(x, w, bias, true);
        }
        return bias == null
                ? ai.djl.nn.core.Linear.linear(x, w).singletonOrThrow()
                : ai.djl.nn.core.Linear.linear(x, w, bias).singletonOrThrow();
    }

    /**
     * {@code dOut·W}, {@code [..., out]} to {@code [..., in]}: the gradient of the base projection's input, for
     * hand-written backward passes; a bfloat16 GEMM when the projection computes in bfloat16.
     */
    public NDArray inputGradient(NDArray dOut) {
        return precision == ComputePrecision.BF16 ? Kernels.get().matMulBf16(dOut, weight(), false) : dOut.matMul(weight());
    }

    /** The number format of the base projection's GEMMs. */
    public ComputePrecision precision() {
        return precision;
    }

    void setPrecision(ComputePrecision precision) {
        this.precision = precision;
    }

    /** Module path, e.g. {@code model.layers.0.self_attn.q_proj} (tensors add {@code .weight}). */
    public String name() {
        return name;
    }

    /** The last component of the name, e.g. {@code q_proj}: what LoRA's target_modules match. */
    public String kind() {
        return name.substring(name.lastIndexOf('.') + 1);
    }

    /** {@code [out, in]}; for a quantised weight a new dequantised array on each call (free it with the step's scope). */
    public NDArray weight() {
        return quantized != null ? quantized.dequantize() : weight;
    }

    /** The quantised weight, or null when the weight is held in full precision. */
    public QuantizedWeight quantized() {
        return quantized;
    }

    public NDArray bias() {
        return bias;
    }

    public long inFeatures() {
        return quantized != null ? quantized.shape().get(1) : weight.getShape().get(1);
    }

    public long outFeatures() {
        return quantized != null ? quantized.shape().get(0) : weight.getShape().get(0);
    }

    public LinearAdapter adapter() {
        return adapter;
    }

    public void setAdapter(LinearAdapter adapter) {
        this.adapter = adapter;
    }

    /** A full-precision weight (a merge writes one), replacing a quantised one. */
    void setWeight(NDArray w) {
        this.weight = w;
        this.quantized = null;
    }

    /** Keeps the weight quantised from now on; the caller frees the full-precision one it replaces. */
    void setQuantized(QuantizedWeight q) {
        this.quantized = q;
        this.weight = null;
    }

    void setBias(NDArray b) {
        this.bias = b;
    }
}
