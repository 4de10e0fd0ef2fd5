package org.llamawb.model;

import ai.djl.ndarray.NDArray;
import org.llamawb.model.quant.FrozenWeight;
import org.llamawb.model.quant.QuantizedWeight;

/**
 * A projection {@code y = x·Wᵀ (+ b)} with {@code W: [out, in]} under its Hugging Face name
 * ({@code model.layers.3.self_attn.q_proj}). An optional {@link LinearAdapter} sits beside the weight.
 * A frozen weight may be kept compact ({@link FrozenWeight}: NF4/int8 codes, bfloat16/float16 values): it is then
 * widened to float32 on each use.
 */
public final class Linear {
    private final String name;
    private NDArray weight; // [out, in]; null while frozen holds it
    private FrozenWeight frozen;
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
        // a compact weight lives as float32 only for this product and, under autograd, until its backward (the
        // rematerialising policies free it with the block and widen it again there)
        NDArray w = weight();
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

    /** {@code [out, in]}; for a compact weight a new float32 array on each call (free it with the step's scope). */
    public NDArray weight() {
        return frozen != null ? frozen.dense() : weight;
    }

    /** Whether the weight itself is trained (a compact weight never is); cheaper than {@code weight().hasGradient()}. */
    public boolean weightTrainable() {
        return frozen == null && weight.hasGradient();
    }

    /** The compact weight, or null when the weight is held in float32. */
    public FrozenWeight frozen() {
        return frozen;
    }

    /** The quantised weight, or null when the weight is not NF4/int8 codes. */
    public QuantizedWeight quantized() {
        return frozen instanceof QuantizedWeight q ? q : null;
    }

    public NDArray bias() {
        return bias;
    }

    public long inFeatures() {
        return frozen != null ? frozen.shape().get(1) : weight.getShape().get(1);
    }

    public long outFeatures() {
        return frozen != null ? frozen.shape().get(0) : weight.getShape().get(0);
    }

    public LinearAdapter adapter() {
        return adapter;
    }

    public void setAdapter(LinearAdapter adapter) {
        this.adapter = adapter;
    }

    /** A float32 weight (a merge writes one), replacing a compact one. */
    void setWeight(NDArray w) {
        this.weight = w;
        this.frozen = null;
    }

    /** Keeps the weight compact from now on; the caller frees the float32 one it replaces. */
    void setFrozen(FrozenWeight f) {
        this.frozen = f;
        this.weight = null;
    }

    void setBias(NDArray b) {
        this.bias = b;
    }
}
