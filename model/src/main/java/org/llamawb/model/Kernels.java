package org.llamawb.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Fused libtorch kernels that DJL's API does not expose, reached through tiny TorchScript modules.
 *
 * <p>Each kernel is a one-line TorchScript {@code forward} (e.g. {@code scaled_dot_product_attention})
 * written here as a TorchScript archive (text code plus a few pickle bytes; no Python or torch needed),
 * loaded once per process. Autograd flows through them when called with {@code training = true}.
 * Only {@code forward} is used: DJL runs other methods without gradient recording.
 */
public final class Kernels {

    /** The kernels, each with the TorchScript body of its {@code forward}. */
    enum Op {
        /** Causal attention {@code [B,H,T,D]}: libtorch picks its flash/memory-efficient CPU kernel. */
        CAUSAL_ATTENTION("q: Tensor, k: Tensor, v: Tensor",
                "torch.scaled_dot_product_attention(q, k, v, None, 0., True)"),
        /** Causal attention where k/v have fewer heads (grouped-query), without repeating them. */
        CAUSAL_ATTENTION_GQA("q: Tensor, k: Tensor, v: Tensor",
                "torch.scaled_dot_product_attention(q, k, v, None, 0., True, scale=None, enable_gqa=True)"),
        /** Attention with a boolean mask {@code [B,1,T,S]} (true = may attend): packed sequences, caches. */
        MASKED_ATTENTION("q: Tensor, k: Tensor, v: Tensor, mask: Tensor",
                "torch.scaled_dot_product_attention(q, k, v, mask)"),
        /**
         * {@code x·wᵀ} as a bfloat16 GEMM: both operands are cast to bfloat16 inside libtorch and the product back to
         * float32, so no bfloat16 tensor ever reaches Java (DJL aborts the JVM on one). Autograd records the casts:
         * the backward GEMMs run in bfloat16 too, and the gradients arrive in float32. Serialised TorchScript names a
         * dtype by its ScalarType number: 15 is bfloat16, 6 float32.
         */
        LINEAR_BF16("x: Tensor, w: Tensor",
                "torch.linear(x.to(15), w.to(15)).to(6)"),
        /** As {@link #LINEAR_BF16}, the bias added in float32. */
        LINEAR_BIAS_BF16("x: Tensor, w: Tensor, b: Tensor",
                "torch.add(torch.linear(x.to(15), w.to(15)).to(6), b)"),
        /** {@code a·b} (batched, broadcasting as {@code torch.matmul}) as a bfloat16 GEMM with a float32 result. */
        MATMUL_BF16("a: Tensor, b: Tensor",
                "torch.matmul(a.to(15), b.to(15)).to(6)"),
        /** {@link #CAUSAL_ATTENTION} on bfloat16 q, k, v (the kernel's softmax accumulates in float32); float32 out. */
        CAUSAL_ATTENTION_BF16("q: Tensor, k: Tensor, v: Tensor",
                "torch.scaled_dot_product_attention(q.to(15), k.to(15), v.to(15), "
                        + "None, 0., True).to(6)"),
        /** {@link #CAUSAL_ATTENTION_GQA} in bfloat16, float32 out. */
        CAUSAL_ATTENTION_GQA_BF16("q: Tensor, k: Tensor, v: Tensor",
                "torch.scaled_dot_product_attention(q.to(15), k.to(15), v.to(15), "
                        + "None, 0., True, scale=None, enable_gqa=True).to(6)"),
        /** {@link #MASKED_ATTENTION} in bfloat16, float32 out. */
        MASKED_ATTENTION_BF16("q: Tensor, k: Tensor, v: Tensor, mask: Tensor",
                "torch.scaled_dot_product_attention(q.to(15), k.to(15), v.to(15), "
                        + "mask).to(6)"),
        /** SwiGLU's gate: {@code silu(g) * u}. */
        SILU_MUL("g: Tensor, u: Tensor", "torch.mul(torch.silu(g), u)"),
        /**
         * float32 {@code x} rounded to bfloat16 (to nearest, ties to even). The result is a bfloat16 tensor that Java
         * holds only as a handle: DJL aborts the JVM when it creates or converts one itself, and reports its dtype as
         * unknown, so bfloat16 data is made and read only by these kernels.
         */
        TO_BF16("x: Tensor", "torch.to(x, 15)"),
        /** A bfloat16 or float16 tensor widened to float32 (exact). */
        WIDEN("x: Tensor", "torch.to(x, 6)"),
        /** Rows {@code ids} of a bfloat16 or float16 table {@code [V, d]}, widened to float32 {@code [..., d]}. */
        WIDE_ROWS("table: Tensor, ids: Tensor", "torch.to(torch.embedding(table, ids), 6)"),
        /**
         * NF4 codes dequantised: {@code codes} uint8 {@code [n/2]} (two 4-bit codes a byte), {@code pairs} float32
         * {@code [256, 2]} (the two levels each byte stands for), {@code scales} float32 {@code [blocks]}; returns
         * {@code [blocks, n / blocks]} = level · scale. The byte gathers its pair of levels through int32 indices
         * (half int64's bytes) and the block scales multiply in place: two temporaries besides the result, where
         * int64 indices, gathered levels, a materialised per-value scale and the product made four. ScalarType 3
         * is int32.
         */
        NF4_DEQUANTIZE("codes: Tensor, pairs: Tensor, scales: Tensor", String.join("\n",
                "values = torch.index_select(pairs, 0, codes.to(3))",
                "return torch.view(values, [torch.size(scales, 0), -1]).mul_(torch.unsqueeze(scales, 1))")),
        /** Summed token cross-entropy of logits {@code [N,V]} against labels {@code [N]}; -100 ignored. */
        CROSS_ENTROPY_SUM("logits: Tensor, labels: Tensor",
                "torch.nll_loss_nd(torch.log_softmax(logits, -1), labels, None, 2, -100)"),
        /**
         * Summed token cross-entropy of logits {@code [N,V]} against labels {@code [N]} (-100 ignored), and,
         * written over the logits, the gradient of {@code scale · sum}: {@code scale · (softmax − onehot)} on
         * trained rows, 0 on ignored rows. No {@code [N,V]} temporary: max, exp, row sums and the target
         * logit are {@code [N,1]}; the loss per row is {@code log Σexp(z − max) + max − z[label]}.
         */
        CROSS_ENTROPY_SUM_GRAD_INPLACE("logits: Tensor, labels: Tensor, scale: Tensor", "Tensor", String.join("\n",
                "valid = torch.unsqueeze(torch.ne(labels, -100), 1)",
                "target = torch.unsqueeze(torch.clamp(labels, 0), 1)",
                "picked = torch.gather(logits, 1, target)",
                "top = torch.amax(logits, [1], True)",
                "logits.sub_(top).exp_()",
                "total = torch.sum(logits, [1], True)",
                "loss = torch.sum(torch.mul(torch.log(total) + top - picked, valid))",
                "weight = torch.mul(valid, scale)",
                "logits.mul_(torch.div(weight, total))",
                "logits.scatter_add_(1, target, torch.neg(weight))",
                "return loss")),
        /**
         * Per row of logits {@code [N,V]} and its label {@code [N]}: {@code (log p(label) [N], log Σ exp [N])}.
         * One {@code [N,V]} temporary (the shifted exponentials); the logits are not changed.
         */
        TOKEN_LOG_PROBS("logits: Tensor, labels: Tensor", "Tuple[Tensor, Tensor]", String.join("\n",
                "target = torch.unsqueeze(labels, 1)",
                "top = torch.amax(logits, [1], True)",
                "lse = torch.log(torch.sum(torch.sub(logits, top).exp_(), [1], True)) + top",
                "logp = torch.gather(logits, 1, target) - lse",
                "return (torch.squeeze(logp, 1), torch.squeeze(lse, 1))")),
        /**
         * As {@link #TOKEN_LOG_PROBS}, and TRL's per-token metrics: {@code (log p(label), log Σ exp, mean logit,
         * entropy, 1 where the label is the first most likely token)}, each {@code [N]}. The entropy is
         * {@code lse − Σ_v p_v z_v}, with the products written over the one temporary.
         */
        TOKEN_LOG_PROB_STATS("logits: Tensor, labels: Tensor", "Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]",
                String.join("\n",
                "target = torch.unsqueeze(labels, 1)",
                "top = torch.amax(logits, [1], True)",
                "e = torch.sub(logits, top).exp_()",
                "total = torch.sum(e, [1], True)",
                "lse = torch.log(total) + top",
                "logp = torch.gather(logits, 1, target) - lse",
                "entropy = lse - torch.sum(e.mul_(logits), [1], True) / total",
                "hit = torch.eq(torch.argmax(logits, 1, True), target).float()",
                "mean = torch.mean(logits, [1], True)",
                "return (torch.squeeze(logp, 1), torch.squeeze(lse, 1), torch.squeeze(mean, 1), "
                        + "torch.squeeze(entropy, 1), torch.squeeze(hit, 1))")),
        /**
         * The gradient of {@code Σ_n weight_n · log p_n(label_n)} written over the logits {@code [N,V]}:
         * {@code weight · (onehot(label) − exp(logits − lse))}, with {@code lse [N]} from
         * {@link #TOKEN_LOG_PROBS}. No {@code [N,V]} temporary.
         */
        LOG_PROB_GRAD_INPLACE("logits: Tensor, labels: Tensor, lse: Tensor, weight: Tensor", "Tensor", String.join("\n",
                "w = torch.unsqueeze(weight, 1)",
                "logits.sub_(torch.unsqueeze(lse, 1)).exp_().mul_(torch.neg(w))",
                "logits.scatter_add_(1, torch.unsqueeze(labels, 1), w)",
                "return torch.sum(weight)")),
        /** Flash attention forward, causal: {@code (out [B,H,T,D], logsumexp [B,H,T])}. */
        FLASH_CAUSAL("q: Tensor, k: Tensor, v: Tensor", "Tuple[Tensor, Tensor]",
                "torch._scaled_dot_product_flash_attention_for_cpu(q, k, v, 0., True)"),
        /** Flash attention forward with an additive float mask {@code [B,1,T,S]}. */
        FLASH_MASKED("q: Tensor, k: Tensor, v: Tensor, mask: Tensor", "Tuple[Tensor, Tensor]",
                "torch._scaled_dot_product_flash_attention_for_cpu(q, k, v, 0., False, attn_mask=mask)"),
        /** {@link #FLASH_CAUSAL} on bfloat16 q, k, v: {@code (out, logsumexp)}, both float32. */
        FLASH_CAUSAL_BF16("q: Tensor, k: Tensor, v: Tensor", "Tuple[Tensor, Tensor]", String.join("\n",
                "o, lse = torch._scaled_dot_product_flash_attention_for_cpu(q.to(15), k.to(15), v.to(15), 0., True)",
                "return (o.to(6), lse.to(6))")),
        /** {@link #FLASH_MASKED} on bfloat16 q, k, v and mask: {@code (out, logsumexp)}, both float32. */
        FLASH_MASKED_BF16("q: Tensor, k: Tensor, v: Tensor, mask: Tensor", "Tuple[Tensor, Tensor]", String.join("\n",
                "o, lse = torch._scaled_dot_product_flash_attention_for_cpu(q.to(15), k.to(15), v.to(15), 0., False, "
                        + "attn_mask=mask.to(15))",
                "return (o.to(6), lse.to(6))")),
        /** Flash attention backward, causal: {@code (dq, dk, dv)} from the output gradient and the saved statistics. */
        FLASH_CAUSAL_BACKWARD("g: Tensor, q: Tensor, k: Tensor, v: Tensor, o: Tensor, lse: Tensor",
                "Tuple[Tensor, Tensor, Tensor]",
                "torch._scaled_dot_product_flash_attention_for_cpu_backward(g, q, k, v, o, lse, 0., True)"),
        /** Flash attention backward with an additive float mask. */
        FLASH_MASKED_BACKWARD("g: Tensor, q: Tensor, k: Tensor, v: Tensor, o: Tensor, lse: Tensor, mask: Tensor",
                "Tuple[Tensor, Tensor, Tensor]",
                "torch._scaled_dot_product_flash_attention_for_cpu_backward(g, q, k, v, o, lse, 0., False, attn_mask=mask)"),
        /**
         * {@link #FLASH_CAUSAL_BACKWARD} in bfloat16 (the output {@code o} of {@link #FLASH_CAUSAL_BF16} is bfloat16
         * widened, so it narrows back exactly); float32 gradients.
         */
        FLASH_CAUSAL_BACKWARD_BF16("g: Tensor, q: Tensor, k: Tensor, v: Tensor, o: Tensor, lse: Tensor",
                "Tuple[Tensor, Tensor, Tensor]", String.join("\n",
                "dq, dk, dv = torch._scaled_dot_product_flash_attention_for_cpu_backward(g.to(15), q.to(15), k.to(15), "
                        + "v.to(15), o.to(15), lse, 0., True)",
                "return (dq.to(6), dk.to(6), dv.to(6))")),
        /** {@link #FLASH_MASKED_BACKWARD} in bfloat16; float32 gradients. */
        FLASH_MASKED_BACKWARD_BF16("g: Tensor, q: Tensor, k: Tensor, v: Tensor, o: Tensor, lse: Tensor, mask: Tensor",
                "Tuple[Tensor, Tensor, Tensor]", String.join("\n",
                "dq, dk, dv = torch._scaled_dot_product_flash_attention_for_cpu_backward(g.to(15), q.to(15), k.to(15), "
                        + "v.to(15), o.to(15), lse, 0., False, attn_mask=mask.to(15))",
                "return (dq.to(6), dk.to(6), dv.to(6))"));

        final String params;
        final String returns;
        final String body;

        Op(String params, String body) {
            this(params, "Tensor", body);
        }

        Op(String params, String returns, String body) {
            this.params = params;
            this.returns = returns;
            this.body = body;
        }
    }

    private static Kernels instance;

    private final NDManager manager;
    private final Map<Op, PtSymbolBlock> modules = new EnumMap<>(Op.class);

    private Kernels() {
        // The profiling graph executor re-specialises a TorchScript graph for every new input shape
        // (every batch length); for one-op kernels that costs seconds and buys nothing.
        JniUtils.setGraphExecutorOptimize(false);
        manager = NDManager.newBaseManager();
        for (Op op : Op.values()) {
            modules.put(op, load(op));
        }
    }

    /** The process-wide kernels (loaded on first use; the modules live as long as the process). */
    public static synchronized Kernels get() {
        if (instance == null) {
            instance = new Kernels();
        }
        return instance;
    }

    /** Scaled dot-product causal attention; {@code q,k,v: [B,H,T,D]}, same head count. */
    public NDArray causalAttention(NDArray q, NDArray k, NDArray v, boolean training) {
        return run(Op.CAUSAL_ATTENTION, training, q, k, v);
    }

    /** Causal attention with {@code k,v: [B,Hkv,T,D]}, {@code Hkv} dividing {@code H}. */
    public NDArray causalAttentionGqa(NDArray q, NDArray k, NDArray v, boolean training) {
        return run(Op.CAUSAL_ATTENTION_GQA, training, q, k, v);
    }

    /** Attention restricted by a boolean {@code mask: [B or 1, 1, T, S]}. */
    public NDArray maskedAttention(NDArray q, NDArray k, NDArray v, NDArray mask, boolean training) {
        return run(Op.MASKED_ATTENTION, training, q, k, v, mask);
    }

    /** {@code x·wᵀ (+ b)} with {@code x: [..., in]}, {@code w: [out, in]}, as a bfloat16 GEMM; float32 in and out. */
    public NDArray linearBf16(NDArray x, NDArray w, NDArray b, boolean training) {
        return b == null ? run(Op.LINEAR_BF16, training, x, w) : run(Op.LINEAR_BIAS_BF16, training, x, w, b);
    }

    /** {@code a·b} as {@code torch.matmul} does it, in a bfloat16 GEMM; float32 in and out. */
    public NDArray matMulBf16(NDArray a, NDArray b, boolean training) {
        return run(Op.MATMUL_BF16, training, a, b);
    }

    /** {@link #causalAttention} with bfloat16 GEMMs; float32 in and out. */
    public NDArray causalAttentionBf16(NDArray q, NDArray k, NDArray v, boolean training) {
        return run(Op.CAUSAL_ATTENTION_BF16, training, q, k, v);
    }

    /** {@link #causalAttentionGqa} with bfloat16 GEMMs; float32 in and out. */
    public NDArray causalAttentionGqaBf16(NDArray q, NDArray k, NDArray v, boolean training) {
        return run(Op.CAUSAL_ATTENTION_GQA_BF16, training, q, k, v);
    }

    /** {@link #maskedAttention} with bfloat16 GEMMs; float32 in and out. */
    public NDArray maskedAttentionBf16(NDArray q, NDArray k, NDArray v, NDArray mask, boolean training) {
        return run(Op.MASKED_ATTENTION_BF16, training, q, k, v, mask);
    }

    /** {@code silu(gate) * up}, elementwise. */
    public NDArray siluMul(NDArray gate, NDArray up, boolean training) {
        return run(Op.SILU_MUL, training, gate, up);
    }

    /**
     * {@code x} (float32) rounded to bfloat16: a handle for {@link #widen} and {@link #wideRows} only (no DJL
     * operation may touch it; see {@link Op#TO_BF16}).
     */
    public NDArray toBf16(NDArray x) {
        return run(Op.TO_BF16, true, x); // not inference mode: its tensors cannot join a graph
    }

    /** A bfloat16 ({@link #toBf16}) or float16 tensor widened to float32, exactly (a frozen source: nothing to record). */
    public NDArray widen(NDArray x) {
        return run(Op.WIDEN, true, x); // a product under autograd saves the result
    }

    /** Rows {@code ids: [...]} of a bfloat16 or float16 table {@code [V, d]}, as float32 {@code [..., d]}. */
    public NDArray wideRows(NDArray table, NDArray ids) {
        return run(Op.WIDE_ROWS, true, table, ids);
    }

    /**
     * NF4 codes {@code codes: uint8 [n/2]} as float32 {@code [blocks, n / blocks]}: {@code pairs [256, 2]} gives each
     * byte's two levels (high nibble first), {@code scales [blocks]} each block's absmax; {@code n} must fill whole
     * blocks of an even size. Bitwise the product {@code level · scale} of the plain gather. No gradient is recorded.
     */
    public NDArray nf4Dequantize(NDArray codes, NDArray pairs, NDArray scales) {
        return run(Op.NF4_DEQUANTIZE, true, codes, pairs, scales); // as widen: a product under autograd saves it
    }

    /** Sum over tokens of {@code -log softmax(logits)[label]}, skipping label -100; a 0-d array. */
    public NDArray crossEntropySum(NDArray logits, NDArray labels, boolean training) {
        return run(Op.CROSS_ENTROPY_SUM, training, logits, labels);
    }

    /**
     * {@code Σ -log softmax(logits)[label]} over rows whose label is not -100 (a 0-d array), computed without
     * recording gradients; {@code logits: [N,V]} is overwritten with the gradient of {@code scale · Σ}.
     * Pass a tensor that nothing else reads afterwards, e.g. the detached LM-head output.
     */
    public NDArray crossEntropySumGradInPlace(NDArray logits, NDArray labels, NDArray scale) {
        return run(Op.CROSS_ENTROPY_SUM_GRAD_INPLACE, false, logits, labels, scale);
    }

    /**
     * {@code {log p(label) [N], log Σ exp(logits) [N]}} of {@code logits: [N,V]} and {@code labels: [N]} (int64,
     * every one a real token), without recording gradients; the logits are left as they were.
     */
    public NDArray[] tokenLogProbs(NDArray logits, NDArray labels) {
        NDList out = IValueUtils.forward(modules.get(Op.TOKEN_LOG_PROBS), new NDList(logits, labels), false);
        return new NDArray[] {out.get(0), out.get(1)};
    }

    /**
     * {@link #tokenLogProbs} and the per-token metrics: {@code {log p(label), log Σ exp, mean logit, entropy,
     * top-1 hit (1 or 0)}}, each {@code [N]}; no gradient recorded, the logits left as they were.
     */
    public NDArray[] tokenLogProbStats(NDArray logits, NDArray labels) {
        NDList out = IValueUtils.forward(modules.get(Op.TOKEN_LOG_PROB_STATS), new NDList(logits, labels), false);
        return new NDArray[] {out.get(0), out.get(1), out.get(2), out.get(3), out.get(4)};
    }

    /**
     * Overwrites {@code logits: [N,V]} with the gradient of {@code Σ_n weight_n · log p_n(label_n)}, given
     * {@code lse: [N]} from {@link #tokenLogProbs} on the same logits and {@code weight: [N]}. Pass a tensor
     * that nothing else reads afterwards, e.g. the detached LM-head output.
     */
    public void logProbGradInPlace(NDArray logits, NDArray labels, NDArray lse, NDArray weight) {
        run(Op.LOG_PROB_GRAD_INPLACE, false, logits, labels, lse, weight).close();
    }

    /**
     * Flash attention forward that also returns the log-sum-exp of every query row, the only
     * statistic its backward needs: {@code {out [B,H,T,D], lse [B,H,T]}}. {@code mask} is an additive
     * float mask {@code [B,1,T,S]}, or null for causal attention. No gradient is recorded.
     */
    public NDArray[] flashAttention(NDArray q, NDArray k, NDArray v, NDArray mask) {
        return flashAttention(q, k, v, mask, ComputePrecision.FP32);
    }

    /** {@link #flashAttention(NDArray, NDArray, NDArray, NDArray)} with its GEMMs in {@code precision}; float32 in and out. */
    public NDArray[] flashAttention(NDArray q, NDArray k, NDArray v, NDArray mask, ComputePrecision precision) {
        boolean bf16 = precision == ComputePrecision.BF16;
        NDList out = mask == null
                ? IValueUtils.forward(modules.get(bf16 ? Op.FLASH_CAUSAL_BF16 : Op.FLASH_CAUSAL), new NDList(q, k, v), false)
                : IValueUtils.forward(modules.get(bf16 ? Op.FLASH_MASKED_BF16 : Op.FLASH_MASKED), new NDList(q, k, v, mask),
                        false);
        return new NDArray[] {out.get(0), out.get(1)};
    }

    /** Gradients {@code {dq, dk, dv}} of flash attention, given the output gradient {@code g} and the forward's out and lse. */
    public NDArray[] flashAttentionBackward(NDArray g, NDArray q, NDArray k, NDArray v, NDArray out, NDArray lse,
            NDArray mask) {
        return flashAttentionBackward(g, q, k, v, out, lse, mask, ComputePrecision.FP32);
    }

    /** The flash backward with its GEMMs in {@code precision} (that of the forward that gave {@code out, lse}). */
    public NDArray[] flashAttentionBackward(NDArray g, NDArray q, NDArray k, NDArray v, NDArray out, NDArray lse,
            NDArray mask, ComputePrecision precision) {
        boolean bf16 = precision == ComputePrecision.BF16;
        NDList r = mask == null
                ? IValueUtils.forward(modules.get(bf16 ? Op.FLASH_CAUSAL_BACKWARD_BF16 : Op.FLASH_CAUSAL_BACKWARD),
                        new NDList(g, q, k, v, out, lse), false)
                : IValueUtils.forward(modules.get(bf16 ? Op.FLASH_MASKED_BACKWARD_BF16 : Op.FLASH_MASKED_BACKWARD),
                        new NDList(g, q, k, v, out, lse, mask), false);
        return new NDArray[] {r.get(0), r.get(1), r.get(2)};
    }

    private NDArray run(Op op, boolean training, NDArray... inputs) {
        NDList out = IValueUtils.forward(modules.get(op), new NDList(inputs), training);
        return out.singletonOrThrow();
    }

    private PtSymbolBlock load(Op op) {
        try {
            Path file = Files.createTempFile("workbench-kernel-", ".pt");
            try {
                try (OutputStream os = Files.newOutputStream(file)) {
                    writeArchive(os, op);
                }
                return JniUtils.loadModule((PtNDManager) manager, file, true, new String[0], new String[0], false);
            } finally {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the TorchScript kernel " + op, e);
        }
    }

    /**
     * A TorchScript archive: {@code code/__torch__.py} (the class), {@code data.pkl} (the pickled
     * module object: class reference plus {@code training} attribute), {@code constants.pkl},
     * {@code version} and {@code byteorder}, all stored uncompressed as torch.jit.save writes them.
     */
    static void writeArchive(OutputStream os, Op op) throws IOException {
        String cls = "K";
        String code = "class " + cls + "(Module):\n"
                + "  __parameters__ = []\n"
                + "  __buffers__ = []\n"
                + "  training : bool\n"
                + "  def forward(self: __torch__." + cls + ", " + op.params + ") -> " + op.returns + ":\n"
                + body(op.body);
        try (ZipOutputStream zip = new ZipOutputStream(os)) {
            String dir = "kernel/";
            stored(zip, dir + "data.pkl", modulePickle(cls));
            stored(zip, dir + "code/__torch__.py", code.getBytes(StandardCharsets.UTF_8));
            stored(zip, dir + "constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'}); // protocol 2, empty tuple
            stored(zip, dir + "version", "3\n".getBytes(StandardCharsets.US_ASCII));
            stored(zip, dir + "byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        }
    }

    /** One expression becomes {@code return expr}; several lines are statements ending in their own return. */
    private static String body(String body) {
        if (!body.contains("\n")) {
            return "    return " + body + "\n";
        }
        StringBuilder b = new StringBuilder();
        for (String line : body.split("\n")) {
            b.append("    ").append(line).append('\n');
        }
        return b.toString();
    }

    /** Pickle (protocol 2) of {@code __torch__.<cls>} built with state {@code {"training": True}}. */
    private static byte[] modulePickle(String cls) {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        p.write(0x80);
        p.write(2); // PROTO 2
        p.writeBytes(("c__torch__\n" + cls + "\n").getBytes(StandardCharsets.US_ASCII)); // GLOBAL
        p.writeBytes(new byte[] {')', (byte) 0x81, '}', '('}); // EMPTY_TUPLE NEWOBJ EMPTY_DICT MARK
        byte[] key = "training".getBytes(StandardCharsets.US_ASCII);
        p.write('X'); // BINUNICODE, 4-byte little-endian length
        p.writeBytes(new byte[] {(byte) key.length, 0, 0, 0});
        p.writeBytes(key);
        p.writeBytes(new byte[] {(byte) 0x88, 'u', 'b', '.'}); // NEWTRUE SETITEMS BUILD STOP
        return p.toByteArray();
    }

    private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }
}
