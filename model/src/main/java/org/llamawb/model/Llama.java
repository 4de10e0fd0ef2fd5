package org.llamawb.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.llamawb.model.gguf.GgufWeights;
import org.llamawb.model.quant.FrozenStorage;
import org.llamawb.model.quant.FrozenWeight;
import org.llamawb.model.quant.HalfWeight;
import org.llamawb.model.quant.QuantizedWeight;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.LlamaLayout;
import org.llamawb.model.weights.WeightSource;

/**
 * A LLaMA decoder-only language model (Touvron et al., 2023): token embedding, a stack of
 * {@link DecoderLayer}s, a final {@link RmsNorm} and the LM head (tied to the embedding or not).
 *
 * <p>Tensors keep their Hugging Face names ({@link #parameters()}); the model owns the manager they
 * live in. Arrays produced by a forward pass attach to the manager of their first operand, so callers
 * wrap each step in an {@code NDScope}.
 */
public final class Llama implements AutoCloseable {
    private final LlamaConfig config;
    private final NDManager manager;
    private final Rope rope;
    private NDArray embedTokens; // [V, d]; null while embedHalf holds it
    private HalfWeight embedHalf; // [V, d] in bfloat16/float16 (model.dtype), or null
    private final List<DecoderLayer> layers;
    private final RmsNorm norm;
    private final Linear lmHead; // [V, d]; its weight is embedTokens when tied
    private EmbeddingAdapter embeddingAdapter; // or null
    private final Map<String, Object> keepAlive = new LinkedHashMap<>();

    /**
     * @param tensors the float32 tensors by name
     * @param compact the tensors already held compact ({@link FrozenStorage}) by name; {@code tensors} lacks them
     */
    private Llama(LlamaConfig config, NDManager manager, Function<String, NDArray> tensors,
            Map<String, FrozenWeight> compact) {
        this.config = config;
        this.manager = manager;
        this.rope = new Rope(config, manager);
        this.embedHalf = (HalfWeight) compact.get(LlamaLayout.EMBED);
        this.embedTokens = embedHalf == null ? tensors.apply(LlamaLayout.EMBED) : null;
        List<DecoderLayer> list = new ArrayList<>();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            Attention attn = new Attention(i, config,
                    linear(tensors, compact, p + "self_attn.q_proj", config.attentionBias()),
                    linear(tensors, compact, p + "self_attn.k_proj", config.attentionBias()),
                    linear(tensors, compact, p + "self_attn.v_proj", config.attentionBias()),
                    linear(tensors, compact, p + "self_attn.o_proj", config.attentionBias()),
                    rope, manager);
            FeedForward mlp = new FeedForward(
                    linear(tensors, compact, p + "mlp.gate_proj", config.mlpBias()),
                    linear(tensors, compact, p + "mlp.up_proj", config.mlpBias()),
                    linear(tensors, compact, p + "mlp.down_proj", config.mlpBias()));
            list.add(new DecoderLayer(i,
                    new RmsNorm(p + "input_layernorm.weight", tensors.apply(p + "input_layernorm.weight"),
                            config.rmsNormEps(), manager),
                    attn,
                    new RmsNorm(p + "post_attention_layernorm.weight",
                            tensors.apply(p + "post_attention_layernorm.weight"), config.rmsNormEps(), manager),
                    mlp));
        }
        this.layers = Collections.unmodifiableList(list);
        this.norm = new RmsNorm("model.norm.weight", tensors.apply("model.norm.weight"), config.rmsNormEps(), manager);
        if (config.tieWordEmbeddings()) {
            this.lmHead = new Linear("lm_head", embedTokens, null);
            if (embedHalf != null) {
                lmHead.setFrozen(embedHalf); // one table for both, as tied weights share storage
            }
        } else {
            this.lmHead = linear(tensors, compact, "lm_head", false);
        }
    }

    private static Linear linear(Function<String, NDArray> tensors, Map<String, FrozenWeight> compact, String name,
            boolean bias) {
        FrozenWeight f = compact.get(name + ".weight");
        Linear l = new Linear(name, f == null ? tensors.apply(name + ".weight") : null,
                bias ? tensors.apply(name + ".bias") : null);
        if (f != null) {
            l.setFrozen(f);
        }
        return l;
    }

    /**
     * A model over tensors already in {@code manager}, keyed by Hugging Face name. The model takes
     * ownership of {@code manager}. {@code keepAlive} (e.g. memory-mapped files the tensors point into)
     * is closed with the model.
     */
    public static Llama of(LlamaConfig config, NDManager manager, Map<String, NDArray> tensors, AutoCloseable keepAlive) {
        tensors.values().forEach(NDScope::unregister); // weights outlive any step scope they were loaded in
        return of(config, manager, tensors, Map.of(), keepAlive);
    }

    private static Llama of(LlamaConfig config, NDManager manager, Map<String, NDArray> tensors,
            Map<String, FrozenWeight> compact, AutoCloseable keepAlive) {
        Llama m = new Llama(config, manager, name -> {
            NDArray a = tensors.get(name);
            if (a == null) {
                throw new BadInputException("missing tensor '" + name + "'");
            }
            return a;
        }, compact);
        if (keepAlive != null) {
            m.keepAlive.put("source", keepAlive);
        }
        return m;
    }

    /**
     * A model whose tensors {@code read} gives one at a time, in the checkpoint's order; each one that
     * {@code storage} keeps compact is converted and its float32 array freed before the next is read, so the
     * float32 model never exists whole (a 7B model loads into NF4 with one float32 matrix at a time).
     */
    private static Llama build(LlamaConfig config, NDManager m, FrozenStorage storage, Function<String, NDArray> read,
            AutoCloseable keepAlive) {
        if (storage.keepGguf()) {
            throw new IllegalArgumentException("keeping GGUF blocks needs a GGUF file: " + storage.describe());
        }
        return build(config, m, storage, read, name -> null, keepAlive);
    }

    /** As above, taking a projection from {@code kept} when it gives one (a GGUF file's blocks) instead of reading it. */
    private static Llama build(LlamaConfig config, NDManager m, FrozenStorage storage, Function<String, NDArray> read,
            Function<String, FrozenWeight> kept, AutoCloseable keepAlive) {
        Map<String, NDArray> dense = new LinkedHashMap<>();
        Map<String, FrozenWeight> compact = new LinkedHashMap<>();
        for (String name : LlamaLayout.expected(config).keySet()) {
            FrozenWeight k = isProjection(name) ? kept.apply(name) : null;
            if (k != null) {
                compact.put(name, k);
                continue;
            }
            NDArray a = read.apply(name);
            FrozenWeight f = compactForm(storage, name, a, m);
            if (f == null) {
                NDScope.unregister(a); // weights outlive any step scope they were loaded in
                dense.put(name, a);
            } else {
                a.close();
                compact.put(name, f);
            }
        }
        return of(config, m, dense, compact, keepAlive);
    }

    /** What {@code storage} makes of tensor {@code name}: a compact weight, or null to keep it float32. */
    private static FrozenWeight compactForm(FrozenStorage storage, String name, NDArray a, NDManager m) {
        if (!storage.compact()) {
            return null;
        }
        if (name.equals(LlamaLayout.EMBED) || name.equals(LlamaLayout.LM_HEAD)) {
            return storage.table(a, m);
        }
        if (isProjection(name)) {
            return storage.projection(a, m);
        }
        return null; // norms and biases stay float32
    }

    private static boolean isProjection(String name) {
        return name.startsWith("model.layers.") && name.endsWith("_proj.weight");
    }

    /**
     * Loads every tensor of a checkpoint (already validated against its configuration) into a new
     * sub-manager of {@code parent}. F32 safetensors stay memory-mapped (zero copy); the checkpoint is
     * closed with the model.
     */
    public static Llama load(Checkpoint checkpoint, NDManager parent) {
        return loadInto(checkpoint, parent.newSubManager(), FrozenStorage.FLOAT32);
    }

    /**
     * As {@link #load(Checkpoint, NDManager)}, each tensor held as {@code storage} says as soon as it is read
     * (the float32 model never exists whole).
     */
    public static Llama load(Checkpoint checkpoint, NDManager parent, FrozenStorage storage) {
        return loadInto(checkpoint, parent.newSubManager(), storage);
    }

    /**
     * As {@link #load(Checkpoint, NDManager)}, into a base manager of the model's own (for a model that lives
     * on its own, as an evaluated one does); closing the model frees it.
     */
    public static Llama load(Checkpoint checkpoint) {
        return loadInto(checkpoint, NDManager.newBaseManager(), FrozenStorage.FLOAT32);
    }

    /** As {@link #load(Checkpoint)}, held as {@code storage} says tensor by tensor. */
    public static Llama load(Checkpoint checkpoint, FrozenStorage storage) {
        return loadInto(checkpoint, NDManager.newBaseManager(), storage);
    }

    private static Llama loadInto(Checkpoint checkpoint, NDManager m, FrozenStorage storage) {
        try {
            WeightSource w = checkpoint.weights();
            if (!storage.keepGguf()) {
                return build(checkpoint.config(), m, storage, name -> w.load(name, m), checkpoint);
            }
            if (!(w instanceof GgufWeights g)) {
                throw new BadInputException(checkpoint.location() + ": quantize 'keep' (model.quantize, --quantize) keeps "
                        + "a GGUF file's quantised blocks, and this is a " + checkpoint.format() + " checkpoint; use "
                        + "nf4 or int8 to quantise it while loading");
            }
            return build(checkpoint.config(), m, storage, name -> w.load(name, m), name -> g.kept(name, m), checkpoint);
        } catch (RuntimeException e) {
            m.close();
            checkpoint.close();
            throw e;
        }
    }

    /**
     * A randomly initialised model as transformers initialises one: linear and embedding weights
     * from N(0, std²), norms at one, biases at zero. Deterministic for a seed.
     */
    public static Llama random(LlamaConfig config, long seed, double std, NDManager parent) {
        return random(config, seed, std, parent, FrozenStorage.FLOAT32);
    }

    /**
     * As {@link #random(LlamaConfig, long, double, NDManager)} (the same values), each tensor held as
     * {@code storage} says as soon as it is drawn: a model too large for float32 memory can be generated.
     */
    public static Llama random(LlamaConfig config, long seed, double std, NDManager parent, FrozenStorage storage) {
        NDManager m = parent.newSubManager();
        SplittableRandom rng = new SplittableRandom(seed);
        Map<String, long[]> layout = LlamaLayout.expected(config);
        // build() asks for the tensors in layout order, so the random stream is drawn in the same order as ever
        return build(config, m, storage, name -> {
            Shape shape = new Shape(layout.get(name));
            if (name.endsWith("norm.weight")) {
                return m.ones(shape, DataType.FLOAT32);
            } else if (name.endsWith(".bias")) {
                return m.zeros(shape, DataType.FLOAT32);
            }
            float[] v = new float[Math.toIntExact(shape.size())];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (nextGaussian(rng) * std);
            }
            return m.create(v, shape);
        }, null);
    }

    /**
     * As {@link #random(LlamaConfig, long, double, NDManager, FrozenStorage)} with libtorch's generator (seeded with
     * {@code seed}) instead of Java's: other values, drawn by native code in a fraction of the time, for benchmarks
     * of models with billions of parameters.
     */
    public static Llama randomNative(LlamaConfig config, long seed, double std, NDManager parent, FrozenStorage storage) {
        NDManager m = parent.newSubManager();
        Map<String, long[]> layout = LlamaLayout.expected(config);
        ai.djl.pytorch.jni.JniUtils.setSeed(seed);
        return build(config, m, storage, name -> {
            Shape shape = new Shape(layout.get(name));
            if (name.endsWith("norm.weight")) {
                return m.ones(shape, DataType.FLOAT32);
            } else if (name.endsWith(".bias")) {
                return m.zeros(shape, DataType.FLOAT32);
            }
            return m.randomNormal(0f, (float) std, shape, DataType.FLOAT32);
        }, null);
    }

    private static double nextGaussian(SplittableRandom r) {
        // Box-Muller; SplittableRandom has no nextGaussian on Java 17
        double u1 = r.nextDouble();
        double u2 = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }

    // ---------------------------------------------------------------- forward passes

    /**
     * Logits for a training or scoring pass over whole sequences.
     *
     * @param inputIds {@code [B, T]} int64 token ids
     * @param positionIds {@code [B, T]} int64 positions (restarting per packed example), or null for 0..T-1
     * @param segmentIds {@code [B, T]} int64 example index per token for packed rows (attention never
     *     crosses examples), or null when each row is one example
     * @param grad whether autograd is recording (inside a gradient collector)
     * @return {@code [B, T, V]} logits
     */
    public NDArray forward(NDArray inputIds, NDArray positionIds, NDArray segmentIds, boolean grad) {
        return logits(hidden(inputIds, positionIds, segmentIds, grad));
    }

    /** The final normalised hidden states {@code [B, T, d]} (before the LM head). */
    public NDArray hidden(NDArray inputIds, NDArray positionIds, NDArray segmentIds, boolean grad) {
        ForwardContext ctx = context(positionIds, segmentIds, inputIds.getShape().get(1), grad);
        return norm.forward(blocks(embed(inputIds), ctx));
    }

    /** Every decoder layer over {@code x: [B, T, d]}, each in its own scope: its temporaries go now, not at the step's end. */
    private NDArray blocks(NDArray x, ForwardContext ctx) {
        for (DecoderLayer layer : layers) {
            NDArray in = x;
            x = Scoped.keep(() -> layer.forward(in, ctx));
        }
        return x;
    }

    /** Token embeddings {@code [B, T, d]} of {@code ids: [B, T]}. */
    public NDArray embed(NDArray inputIds) {
        NDArray base = embedHalf != null ? embedHalf.rows(inputIds) // [B, T, d], only these rows widened
                : ai.djl.nn.core.Embedding.embedding(inputIds, embedTokens, SparseFormat.DENSE).singletonOrThrow();
        return embeddingAdapter == null ? base : embeddingAdapter.forward(inputIds, base);
    }

    /**
     * Whether a backward pass must go through the embedding: the whole table is trained, or an adapter trains
     * some of its rows. Rematerialised passes that run the embedding without a graph ask this.
     */
    public boolean embeddingTrainable() {
        return (embedTokens != null && embedTokens.hasGradient())
                || (embeddingAdapter != null && embeddingAdapter.trainable());
    }

    public EmbeddingAdapter embeddingAdapter() {
        return embeddingAdapter;
    }

    public void setEmbeddingAdapter(EmbeddingAdapter adapter) {
        this.embeddingAdapter = adapter;
    }

    /** LM head: {@code [..., d]} to {@code [..., V]}. */
    public NDArray logits(NDArray hidden) {
        return lmHead.forward(hidden);
    }

    /** A context for a whole-sequence pass; used by training code that runs the layers itself. */
    public ForwardContext context(NDArray positionIds, NDArray segmentIds, long t, boolean grad) {
        return new ForwardContext(rope.tables(positionIds, 0, (int) t),
                segmentIds == null ? null : Masks.causalWithinSegments(segmentIds), true, grad, null);
    }

    /**
     * One incremental step: runs {@code ids: [B, t]} at positions {@code cache.length() ...}, appends
     * their keys and values to the cache, and returns the logits of the last position, {@code [B, V]}.
     */
    public NDArray decode(NDArray ids, KvCache cache) {
        NDArray x = cachedBlocks(ids, cache); // [B, t, d]
        long t = x.getShape().get(1);
        NDArray last = t == 1 ? x.squeeze(1) : x.get(new NDIndex().addAllDim().addIndices(t - 1)); // [B, d]
        return logits(norm.forward(last));
    }

    /** Logits of every position of an incremental step, {@code [B, t, V]} (used by parity tests and scoring). */
    public NDArray decodeAll(NDArray ids, KvCache cache) {
        return logits(norm.forward(cachedBlocks(ids, cache)));
    }

    /**
     * The layers over {@code ids: [B, t]} after the cached positions, extending the cache. A prompt into an
     * empty cache is plain causal attention; more tokens after a cache need an offset causal mask; one token
     * attends to everything cached.
     */
    private NDArray cachedBlocks(NDArray ids, KvCache cache) {
        int t = Math.toIntExact(ids.getShape().get(1));
        int start = cache.length();
        NDArray mask = start == 0 || t == 1 ? null : Masks.causal(ids.getManager(), t, start + t);
        ForwardContext ctx = new ForwardContext(rope.tables(null, start, t), mask, start == 0 && t > 1, false, cache);
        NDArray x = blocks(embed(ids), ctx);
        cache.advance(t);
        return x;
    }

    /**
     * One incremental step for rows that do not share positions (left-padded prompts): runs {@code ids: [B, t]}
     * at {@code positionIds: [B, t]}, attending where {@code mask: [B, 1, t, cache.length() + t]} is true,
     * extends the cache and returns the logits of the last position, {@code [B, V]}.
     */
    public NDArray decode(NDArray ids, NDArray positionIds, NDArray mask, KvCache cache) {
        int t = Math.toIntExact(ids.getShape().get(1));
        ForwardContext ctx = new ForwardContext(rope.tables(positionIds, 0, t), mask, false, false, cache);
        NDArray x = blocks(embed(ids), ctx); // [B, t, d]
        cache.advance(t);
        NDArray last = t == 1 ? x.squeeze(1) : x.get(new NDIndex().addAllDim().addIndices(t - 1)); // [B, d]
        return logits(norm.forward(last));
    }

    /** A cache for {@code batch} sequences of up to {@code capacity} positions. */
    public KvCache newCache(int batch, int capacity) {
        return new KvCache(config, batch, capacity, manager);
    }

    // ---------------------------------------------------------------- structure

    /**
     * Every tensor under its Hugging Face name (the tied LM head is not listed twice). A compact tensor
     * ({@link FrozenStorage}) is listed as a new float32 array: all of them at once take the float32 model's memory.
     */
    public Map<String, NDArray> parameters() {
        Map<String, NDArray> p = new LinkedHashMap<>();
        p.put("model.embed_tokens.weight", embedTokens());
        for (DecoderLayer l : layers) {
            p.put(l.inputLayernorm.name(), l.inputLayernorm.weight());
            for (Linear lin : List.of(l.selfAttn.qProj, l.selfAttn.kProj, l.selfAttn.vProj, l.selfAttn.oProj)) {
                put(p, lin);
            }
            p.put(l.postAttentionLayernorm.name(), l.postAttentionLayernorm.weight());
            for (Linear lin : List.of(l.mlp.gateProj, l.mlp.upProj, l.mlp.downProj)) {
                put(p, lin);
            }
        }
        p.put(norm.name(), norm.weight());
        if (!config.tieWordEmbeddings()) {
            p.put("lm_head.weight", lmHead.weight());
        }
        return p;
    }

    private static void put(Map<String, NDArray> p, Linear l) {
        p.put(l.name() + ".weight", l.weight());
        if (l.bias() != null) {
            p.put(l.name() + ".bias", l.bias());
        }
    }

    /**
     * Keeps every projection inside the decoder layers quantised ({@code model.quantize}: QLoRA's frozen base),
     * the embeddings and LM head in float32. See {@link #compress}.
     *
     * @return the bytes the projections take now
     */
    public long quantize(QuantizedWeight.Kind kind) {
        compress(new FrozenStorage(null, kind));
        long bytes = 0;
        for (Linear lin : linears()) {
            bytes += lin.frozen().bytes();
        }
        return bytes;
    }

    /**
     * Holds the frozen base as {@code storage} says ({@code model.dtype}, {@code model.quantize}), tensor by tensor:
     * decoder projections quantised or in half precision, the embedding and LM head in half precision; each is
     * widened to float32 only while it is used. A merge into a compact projection writes it back in float32. In
     * training, autograd keeps each widened weight until its backward under {@code train.rematerialization: none}
     * (as much memory as float32); the other policies hold one block's at a time. Tensors already compact are kept.
     */
    public void compress(FrozenStorage storage) {
        if (!storage.compact()) {
            return;
        }
        for (Linear lin : linears()) {
            if (lin.frozen() == null) {
                convert(lin, storage.projection(lin.weight(), manager));
            }
        }
        if (storage.dtype() != null) {
            if (!config.tieWordEmbeddings() && lmHead.frozen() == null && !lmHead.weight().hasGradient()) {
                convert(lmHead, storage.table(lmHead.weight(), manager));
            }
            if (embedHalf == null && !embedTokens.hasGradient()) {
                NDArray dense = embedTokens;
                embedHalf = storage.table(dense, manager);
                embedTokens = null;
                if (config.tieWordEmbeddings()) {
                    lmHead.setFrozen(embedHalf);
                }
                dense.close();
            }
        }
    }

    private static void convert(Linear lin, FrozenWeight f) {
        if (f != null) {
            NDArray dense = lin.weight();
            lin.setFrozen(f);
            dense.close();
        }
    }

    /**
     * Stacks each block's frozen {@code q, k, v} and {@code gate, up} projections for one GEMM each
     * ({@link FusedProjection}), or stops using the stacks ({@code false}; float32 weights stay the views they became,
     * with the same values). Call once the trained tensors are known (after LoRA is attached and every trainable tensor
     * requires gradients): a group with a trained tensor is left as it is. Float32 projection weights become views of
     * the stacked tensors, and the arrays they were are freed.
     *
     * @return the groups now stacked
     */
    public int fuseFrozenProjections(boolean on) {
        int fused = 0;
        for (DecoderLayer l : layers) {
            // a stack is built once; switched off, it stays (the parts' weights are its views) and is only bypassed
            if (on && l.selfAttn.qkv == null) {
                l.selfAttn.qkv = FusedProjection.of(List.of(l.selfAttn.qProj, l.selfAttn.kProj, l.selfAttn.vProj));
            }
            if (on && l.mlp.gateUp == null) {
                l.mlp.gateUp = FusedProjection.of(List.of(l.mlp.gateProj, l.mlp.upProj));
            }
            for (FusedProjection f : new FusedProjection[] {l.selfAttn.qkv, l.mlp.gateUp}) {
                if (f != null) {
                    f.enabled = on;
                    fused += on ? 1 : 0;
                }
            }
        }
        return fused;
    }

    /** Every projection inside the decoder layers, in order (what LoRA may target). */
    public List<Linear> linears() {
        List<Linear> out = new ArrayList<>();
        for (DecoderLayer l : layers) {
            out.addAll(List.of(l.selfAttn.qProj, l.selfAttn.kProj, l.selfAttn.vProj, l.selfAttn.oProj,
                    l.mlp.gateProj, l.mlp.upProj, l.mlp.downProj));
        }
        return out;
    }

    /** Replaces a tensor by name (e.g. to make a trainable copy of {@code embed_tokens}); shapes must match. */
    public void replace(String name, NDArray value) {
        long[] expected = LlamaLayout.expected(config).get(name); // not parameters(): it would widen every compact tensor
        if (expected == null) {
            throw new IllegalArgumentException("no tensor '" + name + "'");
        }
        if (!new Shape(expected).equals(value.getShape())) {
            throw new IllegalArgumentException(name + ": shape " + value.getShape() + " != " + new Shape(expected));
        }
        if (name.equals("model.embed_tokens.weight")) {
            embedTokens = value;
            embedHalf = null; // its memory goes with the model's manager
            if (config.tieWordEmbeddings()) {
                lmHead.setWeight(value);
            }
            return;
        }
        if (name.equals("lm_head.weight")) {
            lmHead.setWeight(value);
            return;
        }
        if (name.equals(norm.name())) {
            norm.setWeight(value);
            return;
        }
        for (DecoderLayer l : layers) {
            if (name.equals(l.inputLayernorm.name())) {
                l.inputLayernorm.setWeight(value);
                return;
            }
            if (name.equals(l.postAttentionLayernorm.name())) {
                l.postAttentionLayernorm.setWeight(value);
                return;
            }
        }
        for (Linear lin : linears()) {
            if (name.equals(lin.name() + ".weight")) {
                lin.setWeight(value);
                return;
            }
            if (name.equals(lin.name() + ".bias")) {
                lin.setBias(value);
                return;
            }
        }
        throw new IllegalArgumentException("no tensor '" + name + "'");
    }

    /**
     * The number format of every GEMM from now on: the projections (adapters keep their own), the LM head and
     * attention's products. Weights are unchanged: a bfloat16 GEMM rounds its float32 operands as it runs.
     */
    public void setComputePrecision(ComputePrecision precision) {
        for (Linear lin : linears()) {
            lin.setPrecision(precision);
        }
        lmHead.setPrecision(precision);
        for (DecoderLayer l : layers) {
            l.selfAttn.precision = precision;
        }
    }

    /** What {@link #setComputePrecision} last set (float32 until then). */
    public ComputePrecision computePrecision() {
        return lmHead.precision();
    }

    public void setAttentionImplementation(AttentionImplementation impl) {
        for (DecoderLayer l : layers) {
            l.selfAttn.implementation = impl;
        }
    }

    public LlamaConfig config() {
        return config;
    }

    public List<DecoderLayer> layers() {
        return layers;
    }

    public RmsNorm norm() {
        return norm;
    }

    public Linear lmHead() {
        return lmHead;
    }

    /** {@code [V, d]}; a half-precision table as a new float32 array on each call. */
    public NDArray embedTokens() {
        return embedHalf != null ? embedHalf.dense() : embedTokens;
    }

    /** The half-precision embedding table, or null when it is float32. */
    public HalfWeight embedHalf() {
        return embedHalf;
    }

    public Rope rope() {
        return rope;
    }

    /** The manager holding the weights; long-lived state (optimiser, adapters) can live in sub-managers of it. */
    public NDManager manager() {
        return manager;
    }

    @Override
    public void close() {
        manager.close();
        for (Object o : keepAlive.values()) {
            if (o instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    // closing a mapped source never fails in a way the caller can act on
                }
            }
        }
    }
}
