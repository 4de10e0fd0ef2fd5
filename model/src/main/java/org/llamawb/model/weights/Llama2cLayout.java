package org.llamawb.model.weights;

import java.util.ArrayList;
import java.util.List;

/**
 * Where each tensor of a llama2.c checkpoint lies, and its Hugging Face name: the one place that maps
 * llama2.c's layout to ours.
 *
 * <p>Names: {@code tok_embeddings} → {@code model.embed_tokens}, {@code attention_norm} →
 * {@code input_layernorm}, {@code wq/wk/wv/wo} → {@code self_attn.q/k/v/o_proj}, {@code ffn_norm} →
 * {@code post_attention_layernorm}, {@code w1/w2/w3} → {@code mlp.gate/down/up_proj}, {@code norm} →
 * {@code model.norm}, {@code output} → {@code lm_head}. llama2.c rotates adjacent pairs (Meta's layout), so
 * q and k rows are permuted to rotate-half order ({@link RotaryPermutation}), with the query heads for q and
 * the key/value heads for k. All tensors are float32, {@code [out, in]} as in PyTorch.
 *
 * <p>Orders, from llama2.c's {@code export.py} (checked against {@code run.c}'s reader):
 * <ul>
 *   <li>legacy: tok_embeddings, attention_norm[L], wq[L], wk[L], wv[L], wo[L], ffn_norm[L], w1[L], w2[L],
 *       w3[L], norm, freq_cis_real [seq, hd/2], freq_cis_imag [seq, hd/2] (skipped), output if not shared;</li>
 *   <li>version 1: attention_norm[L], ffn_norm[L], norm, tok_embeddings, wq[L], wk[L], wv[L], wo[L], w1[L],
 *       w2[L], w3[L], output if not shared.</li>
 * </ul>
 */
final class Llama2cLayout {
    /**
     * One stored tensor.
     *
     * @param name Hugging Face name
     * @param shape {@code [out, in]} or {@code [n]}
     * @param offset byte offset in the file
     * @param ropeHeads heads to permute rows over (q or k), 0 for none
     */
    record Slot(String name, long[] shape, long offset, int ropeHeads) {
        long bytes() {
            long n = 1;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return Math.multiplyExact(n, (long) Float.BYTES);
        }
    }

    /** The parameters of a llama2.c header. */
    record Params(int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocab, int seqLen, boolean shared) {
        int headSize() {
            return dim / heads;
        }
    }

    private final List<Slot> slots = new ArrayList<>();
    private long offset;

    private Llama2cLayout(long headerBytes) {
        this.offset = headerBytes;
    }

    /**
     * The size a file must have, computed without listing its tensors (so a header claiming 2^30 layers
     * costs nothing); {@link ArithmeticException} when it overflows.
     */
    static long fileSize(Params p, int version, long headerBytes) {
        long d = p.dim();
        long q = (long) p.heads() * p.headSize();
        long kv = (long) p.kvHeads() * p.headSize();
        long h = p.hiddenDim();
        long perLayer = Math.addExact(Math.addExact(2 * d, Math.multiplyExact(2 * q, d)),
                Math.addExact(Math.multiplyExact(2 * kv, d), Math.multiplyExact(3 * h, d)));
        long floats = Math.addExact(Math.multiplyExact(p.layers(), perLayer), d);
        long embeddings = Math.multiplyExact((long) p.vocab(), d);
        floats = Math.addExact(floats, p.shared() ? embeddings : Math.multiplyExact(2, embeddings));
        if (version == 0) {
            floats = Math.addExact(floats, (long) p.seqLen() * (p.headSize() / 2) * 2);
        }
        return Math.addExact(headerBytes, Math.multiplyExact(floats, Float.BYTES));
    }

    /** The layout of a file of {@code version} (0 = legacy) whose header takes {@code headerBytes}. */
    static Llama2cLayout of(Params p, int version, long headerBytes) {
        Llama2cLayout l = new Llama2cLayout(headerBytes);
        long d = p.dim();
        long q = (long) p.heads() * p.headSize();
        long kv = (long) p.kvHeads() * p.headSize();
        long h = p.hiddenDim();
        if (version == 0) {
            l.add(LlamaLayout.EMBED, 0, p.vocab(), d);
            l.perLayer(p, "input_layernorm.weight", 0, d);
            l.perLayer(p, "self_attn.q_proj.weight", p.heads(), q, d);
            l.perLayer(p, "self_attn.k_proj.weight", p.kvHeads(), kv, d);
            l.perLayer(p, "self_attn.v_proj.weight", 0, kv, d);
            l.perLayer(p, "self_attn.o_proj.weight", 0, d, q);
            l.perLayer(p, "post_attention_layernorm.weight", 0, d);
            l.perLayer(p, "mlp.gate_proj.weight", 0, h, d);
            l.perLayer(p, "mlp.down_proj.weight", 0, d, h);
            l.perLayer(p, "mlp.up_proj.weight", 0, h, d);
            l.add(LlamaLayout.NORM, 0, d);
            // freq_cis_real and freq_cis_imag: precomputed RoPE tables we recompute, skipped.
            l.offset = Math.addExact(l.offset, Math.multiplyExact(2L * p.seqLen() * (p.headSize() / 2), Float.BYTES));
        } else {
            l.perLayer(p, "input_layernorm.weight", 0, d);
            l.perLayer(p, "post_attention_layernorm.weight", 0, d);
            l.add(LlamaLayout.NORM, 0, d);
            l.add(LlamaLayout.EMBED, 0, p.vocab(), d);
            l.perLayer(p, "self_attn.q_proj.weight", p.heads(), q, d);
            l.perLayer(p, "self_attn.k_proj.weight", p.kvHeads(), kv, d);
            l.perLayer(p, "self_attn.v_proj.weight", 0, kv, d);
            l.perLayer(p, "self_attn.o_proj.weight", 0, d, q);
            l.perLayer(p, "mlp.gate_proj.weight", 0, h, d);
            l.perLayer(p, "mlp.down_proj.weight", 0, d, h);
            l.perLayer(p, "mlp.up_proj.weight", 0, h, d);
        }
        if (!p.shared()) {
            l.add(LlamaLayout.LM_HEAD, 0, p.vocab(), d);
        }
        return l;
    }

    /** The stored tensors, in file order. */
    List<Slot> slots() {
        return List.copyOf(slots);
    }

    /** The size the file must have: header, tensors and (legacy) RoPE tables. */
    long fileSize() {
        return offset;
    }

    private void perLayer(Params p, String suffix, int ropeHeads, long... shape) {
        for (int i = 0; i < p.layers(); i++) {
            add(LlamaLayout.layer(i) + suffix, ropeHeads, shape);
        }
    }

    private void add(String name, int ropeHeads, long... shape) {
        Slot s = new Slot(name, shape, offset, ropeHeads);
        offset = Math.addExact(offset, s.bytes());
        slots.add(s);
    }
}
