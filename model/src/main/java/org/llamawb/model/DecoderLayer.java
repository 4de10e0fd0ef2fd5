package org.llamawb.model;

import ai.djl.ndarray.NDArray;

/** One transformer block with pre-normalisation: two residual lines, as in the paper. */
public final class DecoderLayer {
    final int index;
    final RmsNorm inputLayernorm;
    final Attention selfAttn;
    final RmsNorm postAttentionLayernorm;
    final FeedForward mlp;

    DecoderLayer(int index, RmsNorm inputNorm, Attention attn, RmsNorm postNorm, FeedForward mlp) {
        this.index = index;
        this.inputLayernorm = inputNorm;
        this.selfAttn = attn;
        this.postAttentionLayernorm = postNorm;
        this.mlp = mlp;
    }

    /** {@code x: [B, T, d]} to {@code [B, T, d]}. */
    public NDArray forward(NDArray x, ForwardContext ctx) {
        NDArray h = x.add(selfAttn.forward(inputLayernorm.forward(x), ctx));
        return h.add(mlp.forward(postAttentionLayernorm.forward(h), ctx));
    }

    public int index() {
        return index;
    }

    public RmsNorm inputLayernorm() {
        return inputLayernorm;
    }

    public Attention selfAttn() {
        return selfAttn;
    }

    public RmsNorm postAttentionLayernorm() {
        return postAttentionLayernorm;
    }

    public FeedForward mlp() {
        return mlp;
    }
}
