package org.llamawb.finetune.remat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.List;
import org.llamawb.adapters.LoraLinear;
import org.llamawb.adapters.LoraWeights;
import org.llamawb.finetune.train.NativeHeap;
import org.llamawb.model.Attention;
import org.llamawb.model.BadInputException;
import org.llamawb.model.ComputePrecision;
import org.llamawb.model.DecoderLayer;
import org.llamawb.model.FeedForward;
import org.llamawb.model.ForwardContext;
import org.llamawb.model.FusedProjection;
import org.llamawb.model.Kernels;
import org.llamawb.model.Linear;
import org.llamawb.model.Llama;
import org.llamawb.model.RmsNorm;
import org.llamawb.model.Rope;
import org.llamawb.model.Scoped;

/**
 * The LLaMA paper's hybrid rematerialisation: the forward pass runs without autograd and keeps, per
 * block, only what is expensive to recompute — the block input {@code x}, the projections' outputs
 * {@code q, k} (rotated), {@code v}, the attention output {@code a} with its per-row log-sum-exp, the
 * residual {@code h}, and the feed-forward projections {@code g, u}. The backward pass is written out
 * by hand below; RMSNorm, RoPE and SiLU·gate are recomputed, the attention uses libtorch's flash
 * backward from the saved log-sum-exp. The final norm, the method's head and its loss use autograd (SFT's slice by
 * slice, {@link ChunkedHead}). The {@code hybrid-lean} variant keeps neither {@code g} nor {@code u} and recomputes
 * both from {@code h} in the backward pass ({@code n2} is recomputed there anyway).
 *
 * <p>Block, for input {@code x: [B,T,d]} ({@code r(z) = (mean(z²) + ε)^-½} per row):
 * <pre>
 *   n1 = x·r(x)·w1                 q,k,v = Lq(n1), Lk(n1), Lv(n1)      q̃,k̃ = rope(q), rope(k)
 *   a  = softmax(q̃k̃ᵀ/√D + mask)·v  h = x + Lo(a)
 *   n2 = h·r(h)·w2                 g,u = Lg(n2), Lu(n2)                s = silu(g)·u
 *   y  = h + Ld(s)
 * </pre>
 * Each linear {@code L(z) = z·Wᵀ + b + Σ σ·(z·Aᵀ)·Bᵀ} over its active LoRA factors.
 */
final class HybridBlockBackward {
    private HybridBlockBackward() {}

    /** What the forward pass keeps of one block ({@code g, u} null when they are recomputed). */
    private record Saved(NDArray x, NDArray q, NDArray k, NDArray v, NDArray a, NDArray lse, NDArray h, NDArray g,
            NDArray u) {
        /** Frees the block's saved activations once its backward is done. */
        void close(boolean withInput) {
            for (NDArray t : new NDArray[] {q, k, v, a, lse, h, g, u}) {
                if (t != null) {
                    t.close();
                }
            }
            if (withInput) {
                x.close();
            }
        }
    }

    /** @param lean recompute the feed-forward projections {@code g, u} in the backward pass instead of keeping them */
    static double run(Llama model, NDArray ids, NDArray pos, NDArray seg, ForwardBackward.Head head, boolean lean) {
        requireSupported(model, lean ? Rematerialization.HYBRID_LEAN : Rematerialization.HYBRID);
        long t = ids.getShape().get(1);
        List<DecoderLayer> layers = model.layers();
        JniUtils.setGradMode(false);
        ForwardContext ctx = model.context(pos, seg, t, false);
        NDArray mask = additiveMask(ctx.mask());
        List<Saved> saved = new ArrayList<>(layers.size());
        NDArray x = model.embed(ids); // [B,T,d], no graph
        for (DecoderLayer layer : layers) {
            NDArray in = x;
            NDArray[] kept = Scoped.keepAll(() -> {
                Saved s = forward(model, layer, in, ctx, mask);
                NDArray y = Scoped.keep(() -> s.h.add(layer.mlp().downProj().forward(swiglu(s.g, s.u)))); // y = h + Ld(s)
                return new NDArray[] {s.x, s.q, s.k, s.v, s.a, s.lse, s.h, lean ? null : s.g, lean ? null : s.u, y};
            });
            saved.add(new Saved(kept[0], kept[1], kept[2], kept[3], kept[4], kept[5], kept[6], kept[7], kept[8]));
            x = kept[9];
        }
        // the forward's freed temporaries (below glibc's mmap threshold, kept resident in pieces) go back to the system
        // before the head and the backward allocate other sizes on top of the kept activations; see NativeHeap
        NativeHeap.trim();
        double loss;
        NDArray upstream;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray last = x;
            last.setRequiresGradient(true);
            loss = head.lossAndBackward(last, true);
            upstream = last.getGradient(); // dL/dy of the last block
            last.close();
        }
        JniUtils.setGradMode(false);
        for (int l = layers.size() - 1; l >= 0; l--) {
            NDArray up = upstream;
            Saved s = saved.get(l);
            DecoderLayer layer = layers.get(l);
            upstream = Scoped.keep(() -> backward(model, layer, s, up, ctx, mask));
            up.close();
            s.close(l > 0); // the embedding output (layer 0's input) may still be needed below
        }
        if (model.embeddingTrainable()) {
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                JniUtils.backward((PtNDArray) model.embed(ids), (PtNDArray) upstream, false, false);
            }
        }
        NativeHeap.trim(); // the backward's temporaries, before the optimiser and the next step's forward
        return loss;
    }

    private static void requireSupported(Llama model, Rematerialization policy) {
        for (Linear lin : model.linears()) {
            if (lin.adapter() instanceof LoraLinear ll && ll.dropoutActive()) {
                throw new BadInputException("train.rematerialization: " + policy.recipeName()
                        + " recomputes nothing random, so it cannot apply adapter dropout (" + lin.name()
                        + "); set adapter.dropout: 0 or use none/full");
            }
            if (lin.adapter() instanceof LoraLinear ll && ll.applied().stream().anyMatch(LoraWeights::isDora)) {
                throw new BadInputException("train.rematerialization: " + policy.recipeName()
                        + " has no hand-written backward for DoRA (adapter.use_dora) on " + lin.name()
                        + "; use none or full");
            }
            if (lin.adapter() != null && !(lin.adapter() instanceof LoraLinear)) {
                throw new BadInputException("train.rematerialization: " + policy.recipeName()
                        + " has no hand-written backward for the adapter on " + lin.name() + "; use none or full");
            }
        }
    }

    /** A boolean mask (true = may attend) as the additive float mask the flash kernel takes; null stays null (causal). */
    private static NDArray additiveMask(NDArray bool) {
        if (bool == null) {
            return null;
        }
        // (mask - 1) · MAX: 0 where allowed, the most negative float where not (0·∞ would give NaN)
        return bool.toType(DataType.FLOAT32, false).sub(1).mul(Float.MAX_VALUE);
    }

    /** The block's forward pass without autograd; each projection in its own scope, so its temporaries go at once. */
    private static Saved forward(Llama model, DecoderLayer layer, NDArray x, ForwardContext ctx, NDArray mask) {
        Attention at = layer.selfAttn();
        Rope rope = model.rope();
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        int hd = at.headDim();
        NDArray n1 = layer.inputLayernorm().forward(x);
        NDArray q;
        NDArray k;
        NDArray v;
        if (at.fusedQkv() != null && at.fusedQkv().applies()) {
            NDArray[] qkv = Scoped.keepAll(() -> {
                NDArray[] p = at.fusedQkv().forward(n1); // [B,T,H*D], [B,T,Hkv*D], [B,T,Hkv*D]: slices of one GEMM's output
                return new NDArray[] {
                    rope.apply(p[0].reshape(b, t, at.heads(), hd).transpose(0, 2, 1, 3), ctx.rope()), // [B,H,T,D]
                    rope.apply(p[1].reshape(b, t, at.kvHeads(), hd).transpose(0, 2, 1, 3), ctx.rope()), // [B,Hkv,T,D]
                    // a copy: a view would keep the whole stacked output alive until the block's backward
                    p[2].reshape(b, t, at.kvHeads(), hd).transpose(0, 2, 1, 3).duplicate()}; // [B,Hkv,T,D]
            });
            q = qkv[0];
            k = qkv[1];
            v = qkv[2];
        } else {
            q = Scoped.keep(() -> rope.apply(at.qProj().forward(n1).reshape(b, t, at.heads(), hd).transpose(0, 2, 1, 3), ctx.rope())); // [B,H,T,D]
            k = Scoped.keep(() -> rope.apply(at.kProj().forward(n1).reshape(b, t, at.kvHeads(), hd).transpose(0, 2, 1, 3), ctx.rope())); // [B,Hkv,T,D]
            v = Scoped.keep(() -> at.vProj().forward(n1).reshape(b, t, at.kvHeads(), hd).transpose(0, 2, 1, 3)); // [B,Hkv,T,D]
        }
        n1.close();
        NDArray[] attn = Scoped.keepAll(() -> Kernels.get().flashAttention(q, at.repeatKv(k), at.repeatKv(v), mask, at.precision())); // a [B,H,T,D], lse [B,H,T]
        NDArray h = Scoped.keep(() -> x.add(at.oProj().forward(attn[0].transpose(0, 2, 1, 3).reshape(b, t, (long) at.heads() * hd)))); // [B,T,H*D] in
        NDArray n2 = layer.postAttentionLayernorm().forward(h);
        FeedForward mlp = layer.mlp();
        // stacked, g and u are the two halves of one [B,T,2I] output: kept together, they hold no more than apart
        NDArray[] gu = Scoped.keepAll(() -> mlp.projectGateUp(n2)); // [B,T,I] each
        n2.close();
        NDArray g = gu[0];
        NDArray u = gu[1];
        return new Saved(x, q, k, v, attn[0], attn[1], h, g, u);
    }

    private static NDArray swiglu(NDArray g, NDArray u) {
        return g.getNDArrayInternal().sigmoid().muli(g).muli(u); // silu(g)·u = σ(g)·g·u, in place on σ(g) (no autograd here)
    }

    /**
     * Gradient of the block input from {@code dy = dL/dy}; parameter gradients are accumulated on the way.
     * Each stage runs in its own scope, so only its result outlives it: a block's temporaries are never
     * resident together.
     */
    private static NDArray backward(Llama model, DecoderLayer layer, Saved s, NDArray dy, ForwardContext ctx, NDArray mask) {
        // Feed-forward. y = h + Ld(s), s = silu(g)·u, silu(g) = g·σ(g):
        //   ds = dL/ds from Ld;  du = ds·silu(g);  dg = ds·u·σ(g)·(1 + g·(1 − σ(g)))
        FeedForward mlp = layer.mlp();
        NDArray dn2 = Scoped.keep(() -> {
            NDArray n2 = layer.postAttentionLayernorm().forward(s.h);
            NDArray[] gu = s.g != null ? new NDArray[] {s.g, s.u} : mlp.projectGateUp(n2); // recomputed under hybrid-lean
            NDArray g = gu[0]; // [B,T,hidden]
            NDArray u = gu[1];
            NDArray sig = g.getNDArrayInternal().sigmoid();
            NDArray silu = g.mul(sig);
            NDArray ds = linearBackward(mlp.downProj(), silu.mul(u), dy);
            NDArray du = ds.mul(silu);
            silu.close();
            // in place (no autograd here), so at most four [B,T,hidden] tensors are resident besides g and u
            NDArray dg = sig.neg().addi(1).muli(g).addi(1).muli(sig).muli(u).muli(ds);
            sig.close();
            ds.close();
            if (s.g == null) {
                g.close();
                u.close();
            }
            FusedProjection gateUp = mlp.fusedGateUp();
            if (gateUp != null && gateUp.applies()) {
                return stackedBackward(gateUp, n2, dg, du);
            }
            NDArray fromGate = linearBackward(mlp.gateProj(), n2, dg);
            dg.close();
            return fromGate.addi(linearBackward(mlp.upProj(), n2, du));
        });
        // h feeds both the residual (dy) and the second norm
        NDArray dh = Scoped.keep(() -> dy.add(rmsNormBackward(layer.postAttentionLayernorm(), s.h, dn2)));
        dn2.close();

        // Attention. h = x + Lo(a): da = dL/da from Lo, then the flash backward gives dq̃, dk̃, dv.
        Attention at = layer.selfAttn();
        long b = dy.getShape().get(0);
        long t = dy.getShape().get(1);
        int hd = at.headDim();
        FusedProjection qkv = at.fusedQkv() != null && at.fusedQkv().applies() ? at.fusedQkv() : null;
        NDArray dn1 = Scoped.keep(() -> {
            NDArray[] g = Scoped.keepAll(() -> {
                NDArray af = s.a.transpose(0, 2, 1, 3).reshape(b, t, (long) at.heads() * hd); // [B,T,H*D]
                NDArray da = linearBackward(at.oProj(), af, dh).reshape(b, t, at.heads(), hd).transpose(0, 2, 1, 3); // [B,H,T,D]
                return Kernels.get().flashAttentionBackward(da, s.q, at.repeatKv(s.k), at.repeatKv(s.v), s.a, s.lse, mask,
                        at.precision());
            });
            // RoPE is an orthogonal map per position: q̃ = q·cos + swap(q)·sin±, so dq = dq̃·cos + swap(dq̃·sin±)
            NDArray[] tables = ctx.rope();
            NDArray n1 = layer.inputLayernorm().forward(s.x);
            NDArray dq = Scoped.keep(() -> ropeBackward(g[0], tables, hd).transpose(0, 2, 1, 3).reshape(b, t, (long) at.heads() * hd)); // [B,T,H*D]
            g[0].close();
            // a key/value head collects the gradients of its query heads: [B,H,T,D] -> [B,Hkv,T,D]
            NDArray dk = Scoped.keep(() -> ropeBackward(sumGroups(g[1], at), tables, hd).transpose(0, 2, 1, 3).reshape(b, t, (long) at.kvHeads() * hd)); // [B,T,Hkv*D]
            g[1].close();
            NDArray dv = Scoped.keep(() -> sumGroups(g[2], at).transpose(0, 2, 1, 3).reshape(b, t, (long) at.kvHeads() * hd)); // [B,T,Hkv*D]
            g[2].close();
            if (qkv != null) {
                return stackedBackward(qkv, n1, dq, dk, dv);
            }
            NDArray fromQ = linearBackward(at.qProj(), n1, dq);
            dq.close();
            NDArray fromK = linearBackward(at.kProj(), n1, dk);
            dk.close();
            NDArray fromV = linearBackward(at.vProj(), n1, dv);
            dv.close();
            return fromQ.addi(fromK).addi(fromV);
        });
        // x feeds both the residual (dh) and the first norm
        return dh.add(rmsNormBackward(layer.inputLayernorm(), s.x, dn1));
    }

    /** {@code [B,H,T,D]} to {@code [B,Hkv,T,D]}: query heads h·g ... h·g+g−1 share key/value head h. */
    private static NDArray sumGroups(NDArray perQueryHead, Attention at) {
        if (at.heads() == at.kvHeads()) {
            return perQueryHead;
        }
        long b = perQueryHead.getShape().get(0);
        long t = perQueryHead.getShape().get(2);
        int group = at.heads() / at.kvHeads();
        return perQueryHead.reshape(b, at.kvHeads(), group, t, at.headDim()).sum(new int[] {2}); // [B,Hkv,G,T,D] -> [B,Hkv,T,D]
    }

    private static NDArray ropeBackward(NDArray dRotated, NDArray[] tables, int headDim) {
        NDArray scaled = dRotated.mul(tables[1]);
        int half = headDim / 2;
        NDArray swapped = scaled.get("..., {}:", half).concat(scaled.get("..., :{}", half), -1);
        return dRotated.mul(tables[0]).addi(swapped);
    }

    /**
     * RMSNorm backward. With {@code r = (mean(z²) + ε)^-½}, {@code n = z·r·w} and {@code ĝ = dn·w}:
     * {@code dz = r·ĝ − z·r³·mean(ĝ·z)} (the second term from {@code ∂r/∂z_j = −r³·z_j/d}) and
     * {@code dw = Σ_rows dn·z·r}.
     */
    private static NDArray rmsNormBackward(RmsNorm norm, NDArray z, NDArray dn) {
        NDArray r = norm.inverseRms(z); // [B,T,1]
        NDArray w = norm.weight();
        if (w.hasGradient()) {
            accumulate(w, dn.mul(z).mul(r).sum(new int[] {0, 1}));
        }
        NDArray gh = dn.mul(w);
        NDArray dot = gh.mul(z).mean(new int[] {-1}, true); // [B,T,1]
        NDArray correction = z.mul(r.mul(r).mul(r).muli(dot)); // z·r³·mean(ĝ·z)
        return gh.muli(r).subi(correction); // in place (no autograd here): three [B,T,d] tensors instead of six
    }

    /**
     * Backward of {@code L(z) = z·Wᵀ + b + Σ σ·(z·Aᵀ)·Bᵀ} given {@code dOut = dL/dL(z)}:
     * {@code dz = dOut·W + Σ σ·(dOut·B)·A}; {@code dW = dOutᵀ·z}, {@code db = Σ dOut} when the base is
     * trained; per LoRA factor with {@code m = z·Aᵀ}: {@code dB = σ·dOutᵀ·m}, {@code dA = σ·(dOut·B)ᵀ·z}.
     */
    private static NDArray linearBackward(Linear lin, NDArray z, NDArray dOut) {
        return Scoped.keep(() -> linearBackwardUnscoped(lin, z, dOut)); // the weight-gradient products are freed at once
    }

    private static NDArray linearBackwardUnscoped(Linear lin, NDArray z, NDArray dOut) {
        long in = lin.inFeatures();
        long out = lin.outFeatures();
        // [.., out]·[out, in], in the projection's precision; a compact weight is widened again here
        NDArray dz = lin.inputGradient(dOut);
        NDArray z2 = z.reshape(-1, in); // [N, in]
        NDArray d2 = dOut.reshape(-1, out); // [N, out]
        if (lin.weightTrainable()) { // not weight().hasGradient(): that would widen a compact weight once more
            accumulate(lin.weight(), lin.precision() == ComputePrecision.BF16
                    ? Kernels.get().matMulBf16(d2.transpose(), z2, false)
                    : d2.transpose().matMul(z2)); // [out, in]
        }
        if (lin.bias() != null && lin.bias().hasGradient()) {
            accumulate(lin.bias(), d2.sum(new int[] {0}));
        }
        return adapterBackward(lin, z2, d2, dz);
    }

    /**
     * The LoRA factors' part of {@link #linearBackward}: accumulates {@code dA, dB} from {@code z2: [N, in]} and
     * {@code d2: [N, out]} and returns {@code dz} plus their {@code Σ σ·(dOut·B)·A}.
     */
    private static NDArray adapterBackward(Linear lin, NDArray z2, NDArray d2, NDArray dz) {
        if (lin.adapter() instanceof LoraLinear ll) {
            for (LoraWeights w : ll.applied()) {
                float sigma = (float) w.scalingValue();
                NDArray dm = d2.matMul(w.b()).mul(sigma); // [N, r]
                if (w.b().hasGradient()) {
                    NDArray m = z2.matMul(w.a().transpose()); // [N, r]
                    accumulate(w.b(), d2.transpose().matMul(m).mul(sigma)); // [out, r]
                }
                if (w.a().hasGradient()) {
                    accumulate(w.a(), dm.transpose().matMul(z2)); // [r, in]
                }
                dz = dz.add(dm.matMul(w.a()).reshape(dz.getShape()));
            }
        }
        return dz;
    }

    /**
     * {@link #linearBackward} for frozen projections of one input {@code z} stacked in {@code f}, given each part's
     * output gradient: the base's input gradient is one GEMM over the gradients side by side, each part's adapter
     * takes its own.
     */
    private static NDArray stackedBackward(FusedProjection f, NDArray z, NDArray... dOuts) {
        return Scoped.keep(() -> {
            NDArray dz = f.inputGradient(NDArrays.concat(new NDList(dOuts), -1)); // [.., Σ out]·[Σ out, in] -> [.., in]
            NDArray z2 = z.reshape(-1, z.getShape().tail()); // [N, in]
            List<Linear> parts = f.parts();
            for (int i = 0; i < dOuts.length; i++) {
                dz = adapterBackward(parts.get(i), z2, dOuts[i].reshape(-1, f.outFeatures(i)), dz); // [N, out_i]
            }
            return dz;
        });
    }

    /** Adds {@code grad} to the gradient of the leaf {@code p}, as autograd's accumulation would. */
    private static void accumulate(NDArray p, NDArray grad) {
        JniUtils.backward((PtNDArray) p, (PtNDArray) grad, false, false);
    }
}
