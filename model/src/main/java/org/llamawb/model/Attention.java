package org.llamawb.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Multi-head causal self-attention with grouped-query heads (Ainslie et al., 2023) and rotary
 * positions: {@code H} query heads share {@code Hkv} key/value heads, {@code H / Hkv} each.
 */
public final class Attention {
    final Linear qProj; // [H*D, d]
    final Linear kProj; // [Hkv*D, d]
    final Linear vProj; // [Hkv*D, d]
    final Linear oProj; // [d, H*D]
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int layerIndex;
    private final Rope rope;
    private final NDArray scale; // 0-d, 1/√D
    private final NDArray maskFill; // 0-d, the most negative float, as transformers fills masked scores
    FusedProjection qkv; // q, k, v stacked for one GEMM (Llama#fuseFrozenProjections), or null
    AttentionImplementation implementation = AttentionImplementation.FUSED;
    ComputePrecision precision = ComputePrecision.FP32; // of q·kᵀ and p·v; the softmax between stays float32

    Attention(int layerIndex, LlamaConfig c, Linear q, Linear k, Linear v, Linear o, Rope rope, NDManager constants) {
        this.layerIndex = layerIndex;
        this.qProj = q;
        this.kProj = k;
        this.vProj = v;
        this.oProj = o;
        this.heads = c.numAttentionHeads();
        this.kvHeads = c.numKeyValueHeads();
        this.headDim = c.headDim();
        this.rope = rope;
        this.scale = constants.full(new Shape(), (float) (1.0 / Math.sqrt(headDim)), DataType.FLOAT32);
        this.maskFill = constants.full(new Shape(), -Float.MAX_VALUE, DataType.FLOAT32);
        NDScope.unregister(this.scale, this.maskFill);
    }

    /** {@code x: [B, T, d]} to {@code [B, T, d]}. */
    public NDArray forward(NDArray x, ForwardContext ctx) {
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        NDArray[] p = projectQkv(x); // [B,T,H*D], [B,T,Hkv*D], [B,T,Hkv*D]
        NDArray q = p[0].reshape(b, t, heads, headDim).transpose(0, 2, 1, 3); // [B,H,T,D]
        NDArray k = p[1].reshape(b, t, kvHeads, headDim).transpose(0, 2, 1, 3); // [B,Hkv,T,D]
        NDArray v = p[2].reshape(b, t, kvHeads, headDim).transpose(0, 2, 1, 3); // [B,Hkv,T,D]
        q = rope.apply(q, ctx.rope());
        k = rope.apply(k, ctx.rope());
        if (ctx.cache() != null) {
            NDArray[] kv = ctx.cache().append(layerIndex, k, v); // [B,Hkv,S,D], S = cached + T
            k = kv[0];
            v = kv[1];
        }
        NDArray out = attend(q, k, v, ctx); // [B,H,T,D]
        return oProj.forward(out.transpose(0, 2, 1, 3).reshape(b, t, (long) heads * headDim)); // [B,T,H*D]
    }

    /**
     * The query, key and value projections of {@code x: [B,T,d]}, adapters included: one stacked GEMM where
     * {@link #fusedQkv()} applies, three otherwise.
     */
    public NDArray[] projectQkv(NDArray x) {
        if (qkv != null && qkv.applies()) {
            return qkv.forward(x);
        }
        return new NDArray[] {qProj.forward(x), kProj.forward(x), vProj.forward(x)};
    }

    /** {@code q, k, v} stacked for one GEMM, or null when they are not ({@link Llama#fuseFrozenProjections}). */
    public FusedProjection fusedQkv() {
        return qkv;
    }

    /** Softmax attention of {@code q: [B,H,T,D]} over {@code k, v: [B,Hkv,S,D]}; returns {@code [B,H,T,D]}. */
    NDArray attend(NDArray q, NDArray k, NDArray v, ForwardContext ctx) {
        if (ctx.mask() == null && !ctx.causal() && q.getShape().get(2) == 1) {
            return attendOneToken(q, k, v);
        }
        Kernels kernels = Kernels.get();
        boolean bf16 = precision == ComputePrecision.BF16;
        if (implementation == AttentionImplementation.FUSED) {
            if (ctx.mask() == null && ctx.causal()) {
                if (heads == kvHeads) {
                    return bf16 ? kernels.causalAttentionBf16(q, k, v, ctx.grad()) : kernels.causalAttention(q, k, v, ctx.grad());
                }
                return bf16 ? kernels.causalAttentionGqaBf16(q, k, v, ctx.grad())
                        : kernels.causalAttentionGqa(q, k, v, ctx.grad());
            }
            return bf16 ? kernels.maskedAttentionBf16(q, repeatKv(k), repeatKv(v), ctx.mask(), ctx.grad())
                    : kernels.maskedAttention(q, repeatKv(k), repeatKv(v), ctx.mask(), ctx.grad());
        }
        k = repeatKv(k); // [B,H,S,D]
        v = repeatKv(v);
        NDArray kT = k.transpose(0, 1, 3, 2); // [B,H,D,S]
        NDArray scores = (bf16 ? kernels.matMulBf16(q, kT, ctx.grad()) : q.matMul(kT)).mul(scale); // [B,H,T,S]
        NDArray mask = ctx.mask();
        if (mask == null && ctx.causal()) {
            mask = Masks.causal(q.getManager(), q.getShape().get(2), k.getShape().get(2));
        }
        if (mask != null) {
            // masked scores become the most negative float, exactly as transformers' eager path
            scores = scores.add(mask.logicalNot().toType(DataType.FLOAT32, false).mul(maskFill));
        }
        NDArray p = scores.softmax(-1); // float32 whatever the precision
        return bf16 ? kernels.matMulBf16(p, v, ctx.grad()) : p.matMul(v); // [B,H,T,D]
    }

    /**
     * One decoded token against every cached position, written out (in float32 whatever the precision: decoding
     * reads each cached key once, so its cost is memory, not arithmetic): at this size a handful of plain ops
     * costs a fraction of a fused-kernel call. Query heads are grouped under their key/value head, so
     * nothing is repeated: {@code [B,H,1,D]} as {@code [B,Hkv,G,D]} against {@code [B,Hkv,S,D]}.
     */
    private NDArray attendOneToken(NDArray q, NDArray k, NDArray v) {
        long b = q.getShape().get(0);
        NDArray grouped = q.reshape(b, kvHeads, heads / kvHeads, headDim); // [B,Hkv,G,D]
        NDArray scores = grouped.matMul(k.transpose(0, 1, 3, 2)).mul(scale); // [B,Hkv,G,S]
        return scores.softmax(-1).matMul(v).reshape(b, heads, 1, headDim); // [B,H,1,D]
    }

    /** {@code [B,Hkv,S,D]} to {@code [B,H,S,D]}: each key/value head serves H/Hkv consecutive query heads. */
    public NDArray repeatKv(NDArray kv) {
        return heads == kvHeads ? kv : kv.repeat(1, heads / kvHeads);
    }

    /** The number format of {@code q·kᵀ} and {@code p·v} (set with {@link Llama#setComputePrecision}). */
    public ComputePrecision precision() {
        return precision;
    }

    public int heads() {
        return heads;
    }

    public int kvHeads() {
        return kvHeads;
    }

    public int headDim() {
        return headDim;
    }

    public Linear qProj() {
        return qProj;
    }

    public Linear kProj() {
        return kProj;
    }

    public Linear vProj() {
        return vProj;
    }

    public Linear oProj() {
        return oProj;
    }
}
