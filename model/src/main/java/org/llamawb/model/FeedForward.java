package org.llamawb.model;

import ai.djl.ndarray.NDArray;

/** The SwiGLU feed-forward (Shazeer, 2020): {@code down(silu(gate(x)) · up(x))}. */
public final class FeedForward {
    final Linear gateProj; // [I, d]
    final Linear upProj; // [I, d]
    final Linear downProj; // [d, I]

    FeedForward(Linear gate, Linear up, Linear down) {
        this.gateProj = gate;
        this.upProj = up;
        this.downProj = down;
    }

    /** {@code x: [B, T, d]} to {@code [B, T, d]}. */
    public NDArray forward(NDArray x, ForwardContext ctx) {
        NDArray hidden = Kernels.get().siluMul(gateProj.forward(x), upProj.forward(x), ctx.grad()); // [B,T,I]
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
