package org.llamawb.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import java.util.List;
import org.llamawb.model.quant.FrozenWeight;

/**
 * Projections of one input computed as one GEMM: {@code q, k, v} of a block's attention, or {@code gate, up} of its
 * feed-forward, with the frozen weights stacked along the output dimension, {@code W = [W₀; W₁; …]: [Σ out, in]},
 * so {@code x·Wᵀ} is the parts' outputs side by side and each part's output is a slice of it. Each part stays a
 * {@link Linear} under its Hugging Face name, and its adapter (LoRA) is added on its own slice.
 *
 * <p>Float32 weights are stacked once: the parts' weights become row blocks (views) of the stacked tensor, so
 * memory is unchanged and every reader of {@link Linear#weight()} (exports, checkpoints, merges) sees the same
 * values under the same names. Compact weights ({@code model.dtype}, {@code model.quantize}) keep their codes per
 * projection (NF4's double-quantised absmax blocks and the per-tensor half tables belong to one tensor each); their
 * float32 forms, widened on each use anyway, are stacked at use and then take one GEMM.
 *
 * <p>The stacked path applies only while every part is frozen, holds the weight it held when stacked (a merge
 * replaces it; an unmerge restores it) and shares one precision; otherwise the parts run one by one as before.
 * Full fine-tuning therefore never takes it: its weights require gradients, which land in the HF-named tensors.
 */
public final class FusedProjection {
    private final Linear[] parts;
    private final long[] offsets; // part i's rows are [offsets[i], offsets[i+1]) of the stacked output
    private final NDIndex[] slices; // "..., offsets[i]:offsets[i+1]", parsed once (a decode step slices thousands of times)
    private final Object[] held; // what each part held when stacked: its weight view or its compact weight
    private final NDArray weight; // [Σ out, in] float32, or null when the parts are compact
    private final NDArray bias; // [Σ out], or null
    private final NDArray[] heldBias; // each part's bias view when stacked, or null
    boolean enabled = true; // Llama#fuseFrozenProjections(false) bypasses the stack without undoing it

    private FusedProjection(Linear[] parts, long[] offsets, Object[] held, NDArray weight, NDArray bias) {
        this.parts = parts;
        this.offsets = offsets;
        this.slices = new NDIndex[parts.length];
        for (int i = 0; i < parts.length; i++) {
            slices[i] = new NDIndex("..., {}:{}", offsets[i], offsets[i + 1]);
        }
        this.held = held;
        this.weight = weight;
        this.bias = bias;
        this.heldBias = new NDArray[parts.length];
        for (int i = 0; i < parts.length; i++) {
            heldBias[i] = parts[i].bias();
        }
    }

    /**
     * Stacks {@code parts} (one input size; all float32 or all compact; all with a bias or none), or returns null when
     * they cannot be stacked or one of them is trained now. Float32 weights and biases are replaced by views of the
     * stacked tensors and freed (the model owns them).
     */
    static FusedProjection of(List<Linear> group) {
        Linear[] parts = group.toArray(new Linear[0]);
        long in = parts[0].inFeatures();
        boolean compact = parts[0].frozen() != null;
        boolean biased = parts[0].bias() != null;
        long[] offsets = new long[parts.length + 1];
        for (int i = 0; i < parts.length; i++) {
            Linear p = parts[i];
            if (p.inFeatures() != in || (p.frozen() != null) != compact || (p.bias() != null) != biased || trained(p)) {
                return null;
            }
            offsets[i + 1] = offsets[i] + p.outFeatures();
        }
        Object[] held = new Object[parts.length];
        NDArray weight = null;
        if (compact) {
            for (int i = 0; i < parts.length; i++) {
                held[i] = parts[i].frozen();
            }
        } else {
            weight = stack(parts, offsets, true);
            for (int i = 0; i < parts.length; i++) {
                held[i] = parts[i].weight();
            }
        }
        NDArray bias = biased ? stack(parts, offsets, false) : null;
        return new FusedProjection(parts, offsets, held, weight, bias);
    }

    /** Concatenates the parts' weights (or biases) along dim 0 and gives each part its row block back as a view. */
    private static NDArray stack(Linear[] parts, long[] offsets, boolean weights) {
        NDList list = new NDList();
        for (Linear p : parts) {
            list.add(weights ? p.weight() : p.bias());
        }
        NDArray stacked = NDArrays.concat(list, 0); // [Σ out, in] or [Σ out]
        NDScope.unregister(stacked);
        for (int i = 0; i < parts.length; i++) {
            NDArray view = stacked.get(new NDIndex("{}:{}", offsets[i], offsets[i + 1])); // [out_i, in], shares storage
            NDScope.unregister(view);
            NDArray old = list.get(i);
            if (weights) {
                parts[i].setWeight(view);
            } else {
                parts[i].setBias(view);
            }
            old.close();
        }
        return stacked;
    }

    private static boolean trained(Linear p) {
        return p.weightTrainable() || (p.bias() != null && p.bias().hasGradient());
    }

    /**
     * Whether the stacked GEMM is used and computes what the parts would now: it is switched on, and each part is
     * frozen, holds what it held when stacked, and computes in the same precision as the first.
     */
    public boolean applies() {
        if (!enabled) {
            return false;
        }
        ComputePrecision precision = parts[0].precision();
        for (int i = 0; i < parts.length; i++) {
            Linear p = parts[i];
            Object now = weight == null ? p.frozen() : p.weight();
            if (now != held[i] || p.bias() != heldBias[i] || p.precision() != precision || trained(p)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Every part's output for {@code x: [..., in]}, adapters included: {@code [..., out_i]} each, as
     * {@link Linear#forward} would give them. Call only where {@link #applies()}.
     */
    public NDArray[] forward(NDArray x) {
        NDArray all = project(x); // [..., Σ out]
        NDArray[] out = new NDArray[parts.length];
        for (int i = 0; i < parts.length; i++) {
            NDArray base = all.get(slices[i]); // [..., out_i], a view
            LinearAdapter a = parts[i].adapter();
            out[i] = a == null ? base : a.forward(parts[i], x, base);
        }
        return out;
    }

    /** The stacked base projection {@code x·Wᵀ (+ b)}: {@code [..., in]} to {@code [..., Σ out]}, without adapters. */
    public NDArray project(NDArray x) {
        NDArray w = weight(); // a compact group's float32 form lives only for this product (and its backward)
        if (parts[0].precision() == ComputePrecision.BF16) {
            return Kernels.get().linearBf16(x, w, bias, true);
        }
        return bias == null
                ? ai.djl.nn.core.Linear.linear(x, w).singletonOrThrow()
                : ai.djl.nn.core.Linear.linear(x, w, bias).singletonOrThrow();
    }

    /**
     * {@code dOut·W}: the gradient of the shared input from every part's output gradient side by side,
     * {@code [..., Σ out]} to {@code [..., in]} — one GEMM instead of one per part plus their sum.
     */
    public NDArray inputGradient(NDArray dOut) {
        NDArray w = weight();
        return parts[0].precision() == ComputePrecision.BF16 ? Kernels.get().matMulBf16(dOut, w, false) : dOut.matMul(w);
    }

    /** {@code [Σ out, in]} float32; for compact parts a new array on each call (free it with the step's scope). */
    NDArray weight() {
        if (weight != null) {
            return weight;
        }
        NDList dense = new NDList(parts.length);
        for (Object h : held) {
            dense.add(((FrozenWeight) h).dense()); // [out_i, in]
        }
        NDArray w = NDArrays.concat(dense, 0); // [Σ out, in]
        dense.close();
        return w;
    }

    /** The stacked projections, in output order. */
    public List<Linear> parts() {
        return List.of(parts);
    }

    /** Output features of each part, in order. */
    public long outFeatures(int part) {
        return offsets[part + 1] - offsets[part];
    }
}
