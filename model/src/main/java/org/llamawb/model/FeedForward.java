package org.llamawb.model;

import ai.djl.ndarray.NDArray;

/** The SwiGLU feed-forward (Shazeer, 2020): {@code down(silu(gate(x)) · up(x))}. */
public final class FeedForward {
    final Linear gateProj; // [I, d]
    final Linear upProj; // [I, d]
    final Linear downProj; // [d, I]
    FusedProjection gateUp; // gate and up stacked for one GEMM (Llama#fuseFrozenProjections), or null

    /** Below this many gate elements (a decode step), the unfused SwiGLU is cheaper than a kernel call. */
    private static final long FUSED_MIN_ELEMENTS = 1L << 16;

    FeedForward(Linear gate, Linear up, Linear down) {
        this.gateProj = gate;
        this.upProj = up;
        this.downProj = down;
    }

    /** {@code x: [B, T, d]} to {@code [B, T, d]}. */
    public NDArray forward(NDArray x, ForwardContext ctx) {
        NDArray[] gu = projectGateUp(x);
        NDArray g = gu[0]; // [B,T,I]
        NDArray u = gu[1]; // [B,T,I]
        // training: the fused kernel keeps fewer intermediates for backward; whole sequences without
        // gradients (scoring, rematerialisation's first pass): one pass over memory instead of three;
        // decoding: three plain ops cost less than one TorchScript call at a few thousand elements
        NDArray hidden = ctx.grad() || g.size() >= FUSED_MIN_ELEMENTS
                ? Kernels.get().siluMul(g, u, ctx.grad())
                : g.mul(g.getNDArrayInternal().sigmoid()).mul(u);
        return downProj.forward(hidden);
    }

    /**
     * The gate and up projections of {@code x: [B,T,d]}, {@code [B,T,I]} each, adapters included: one stacked GEMM
     * where {@link #fusedGateUp()} applies, two otherwise.
     */
    public NDArray[] projectGateUp(NDArray x) {
        if (gateUp != null && gateUp.applies()) {
            return gateUp.forward(x);
        }
        return new NDArray[] {gateProj.forward(x), upProj.forward(x)};
    }

    /** {@code gate, up} stacked for one GEMM, or null when they are not ({@link Llama#fuseFrozenProjections}). */
    public FusedProjection fusedGateUp() {
        return gateUp;
    }

    public Linear gateProj() {
        return gateProj;
    }

    public Linear upProj() {
        return upProj;
    }

    public Linear downProj() {
        return downProj;
    }
}
