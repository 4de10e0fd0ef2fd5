package org.llamawb.model;

import ai.djl.ndarray.NDArray;

/** The SwiGLU feed-forward (Shazeer, 2020): {@code down(silu(gate(x)) · up(x))}. */
public final class FeedForward {
    final Linear gateProj; // [I, d]
    final Linear upProj; // [I, d]
    final Linear downProj; // [d, I]

    /** Below this many gate elements (a decode step), the unfused SwiGLU is cheaper than a kernel call. */
    private static final long FUSED_MIN_ELEMENTS = 1L << 16;

    FeedForward(Linear gate, Linear up, Linear down) {
        this.gateProj = gate;
        this.upProj = up;
        this.downProj = down;
    }

    /** {@code x: [B, T, d]} to {@code [B, T, d]}. */
    public NDArray forward(NDArray x, ForwardContext ctx) {
        NDArray g = gateProj.forward(x); // [B,T,I]
        NDArray u = upProj.forward(x);
        // training: the fused kernel keeps fewer intermediates for backward; whole sequences without
        // gradients (scoring, rematerialisation's first pass): one pass over memory instead of three;
        // decoding: three plain ops cost less than one TorchScript call at a few thousand elements
        NDArray hidden = ctx.grad() || g.size() >= FUSED_MIN_ELEMENTS
                ? Kernels.get().siluMul(g, u, ctx.grad())
                : g.mul(g.getNDArrayInternal().sigmoid()).mul(u);
        return downProj.forward(hidden);
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
