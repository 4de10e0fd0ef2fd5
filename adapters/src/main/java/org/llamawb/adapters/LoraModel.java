package org.llamawb.adapters;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Linear;
import org.llamawb.model.Llama;

/**
 * Named LoRA adapters over one frozen {@link Llama}, as PEFT's {@code LoraModel}.
 *
 * <p>Adapters are added by name; the active ones are applied in the forward pass. Disabling them
 * gives back the exact base model, which is how DPO and PPO get their reference model without a
 * second copy of the weights. Merging folds {@code scaling·B·A} into the base weight; unmerging puts
 * the original weight back (kept aside, so the base is restored bit for bit).
 */
public final class LoraModel implements AutoCloseable {
    /** Prefix PEFT puts before module paths in {@code adapter_model.safetensors}. */
    public static final String PEFT_PREFIX = "base_model.model.";
    /** Suffix of DoRA's magnitude vector in PEFT's files ({@code ...q_proj.lora_magnitude_vector}, no {@code .weight}). */
    public static final String MAGNITUDE = ".lora_magnitude_vector";

    private final Llama model;
    private final NDManager manager;
    private final Map<String, LoraLinear> layers = new LinkedHashMap<>(); // by module path
    private final Map<String, LoraConfig> configs = new LinkedHashMap<>();
    private final Set<String> active = new LinkedHashSet<>();
    private final Map<String, Map<String, NDArray>> mergedOriginals = new LinkedHashMap<>();
    private final Map<String, Map<String, NDArray>> savedModules = new LinkedHashMap<>(); // adapter -> tensor -> trained copy
    private final Map<String, NDArray> baseModules = new LinkedHashMap<>(); // tensor -> base value
    private final Map<String, TrainableTokens> tokenRows = new LinkedHashMap<>(); // embed_tokens | lm_head -> rows
    private final NDArray one; // 0-d 1.0 for DoRA's (k - 1): a tensor constant, never a Java scalar (see djl-notes)
    private boolean disabled;
    private boolean training;

    public LoraModel(Llama model) {
        this.model = model;
        this.manager = model.manager().newSubManager();
        this.one = manager.full(new Shape(), 1f, DataType.FLOAT32);
        NDScope.unregister(one);
    }

    /**
     * Adds adapter {@code name} with PEFT's initialisation: {@code A ~ kaiming_uniform(a=√5)}, i.e.
     * uniform in {@code ±1/√in}, and {@code B = 0}, so the model is unchanged until trained; with DoRA the
     * magnitude starts as the row norms of the weight, {@code m = ‖W + s·B·A‖ = ‖W‖}. The new adapter
     * becomes active.
     */
    public void add(String name, LoraConfig config, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        addWith(name, config, (path, shapeA, shapeB) -> {
            float bound = (float) (1.0 / Math.sqrt(shapeA[1]));
            float[] a = new float[Math.toIntExact(shapeA[0] * shapeA[1])];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
            }
            return new NDArray[] {manager.create(a, new Shape(shapeA)), manager.zeros(new Shape(shapeB), DataType.FLOAT32)};
        });
    }

    /**
     * Source of initial factors: {@code {A [r,in], B [out,r]}} for a module path, and for DoRA optionally a
     * third, the magnitude {@code [out]} (when absent it starts at the row norms of {@code W + s·B·A}, as PEFT).
     */
    @FunctionalInterface
    interface Factors {
        NDArray[] create(String path, long[] shapeA, long[] shapeB);
    }

    void addWith(String name, LoraConfig config, Factors factors) {
        if (configs.containsKey(name)) {
            throw new BadInputException("adapter '" + name + "' already exists");
        }
        if (!name.matches("[A-Za-z0-9_\\-]+")) {
            throw new BadInputException("adapter name '" + name + "': use letters, digits, '_' or '-'");
        }
        int count = 0;
        for (Linear lin : model.linears()) {
            String path = lin.name();
            int layer = layerIndex(path);
            if (!config.targets(path, layer)) {
                continue;
            }
            long rank = config.rankFor(path);
            NDArray[] ab = factors.create(path, new long[] {rank, lin.inFeatures()}, new long[] {lin.outFeatures(), rank});
            NDScope.unregister(ab[0], ab[1]);
            double s = config.scalingFor(path);
            NDArray scaling = manager.full(new Shape(), (float) s, DataType.FLOAT32);
            NDScope.unregister(scaling);
            NDArray magnitude = null;
            if (config.useDora()) {
                if (ab.length > 2) {
                    magnitude = ab[2];
                } else {
                    try (NDScope scope = new NDScope()) {
                        magnitude = new LoraWeights(ab[0], ab[1], scaling, s, 0, null).weightNorm(lin.weight()); // [out]
                        NDScope.unregister(magnitude);
                    }
                    magnitude.attach(manager);
                }
                NDScope.unregister(magnitude);
            }
            LoraLinear ll = layers.computeIfAbsent(path, p -> {
                LoraLinear created = new LoraLinear(this, lin);
                lin.setAdapter(created);
                return created;
            });
            ll.adapters.put(name, new LoraWeights(ab[0], ab[1], scaling, s, config.dropout(), magnitude));
            count++;
        }
        if (count == 0) {
            throw new BadInputException("adapter '" + name + "': target_modules matched no layer of the model");
        }
        Map<String, NDArray> saved = new LinkedHashMap<>();
        for (String module : config.modulesToSave()) {
            String tensor = moduleTensor(module);
            NDArray base = baseModules.computeIfAbsent(tensor, t -> model.parameters().get(t));
            NDArray copy = base.duplicate();
            NDScope.unregister(copy);
            saved.put(tensor, copy);
        }
        savedModules.put(name, saved);
        config.trainableTokenIndices().forEach((module, ids) -> addTokenRows(name, module, ids));
        configs.put(name, config);
        active.add(name);
        applyModules();
    }

    /**
     * Adds trainable rows for {@code ids} of {@code module}'s vocabulary matrix to adapter {@code name},
     * starting from the base rows (the model is unchanged until they are trained), as PEFT initialises them.
     */
    private void addTokenRows(String name, String module, List<Integer> ids) {
        boolean tied = model.config().tieWordEmbeddings();
        if (module.equals("lm_head") && tied) {
            throw new BadInputException("adapter.trainable_tokens: the LM head is tied to embed_tokens in this model; "
                    + "name embed_tokens (its rows serve both)");
        }
        NDArray weight = module.equals("embed_tokens") ? model.embedTokens() : model.lmHead().weight(); // [V, d]
        long vocab = weight.getShape().get(0);
        long[] idx = ids.stream().mapToLong(Integer::longValue).toArray();
        for (long id : idx) {
            if (id >= vocab) {
                throw new BadInputException("adapter.trainable_tokens: token id " + id + " is outside the vocabulary [0, "
                        + vocab + ")");
            }
        }
        TrainableTokens tt = tokenRows.computeIfAbsent(module, mod -> {
            TrainableTokens created = new TrainableTokens(this, mod);
            if (mod.equals("embed_tokens")) {
                requireFreeSlot(model.embeddingAdapter() == null, "the token embedding");
                model.setEmbeddingAdapter(created);
            }
            if (mod.equals("lm_head") || tied) {
                requireFreeSlot(model.lmHead().adapter() == null, "the LM head");
                model.lmHead().setAdapter(created);
            }
            return created;
        });
        NDArray indices = manager.create(idx); // [k]
        NDArray original = weight.get(new NDIndex("{}", indices)).duplicate(); // [k, d]
        NDArray values = original.duplicate();
        float[] onehot = new float[Math.toIntExact(idx.length * vocab)];
        for (int k = 0; k < idx.length; k++) {
            onehot[Math.toIntExact(k * vocab + idx[k])] = 1f;
        }
        NDArray select = manager.create(onehot, new Shape(idx.length, vocab)); // [k, V]
        NDScope.unregister(indices, original, values, select);
        tt.adapters.put(name, new TrainableTokens.Rows(idx, indices, values, original, select));
    }

    private static void requireFreeSlot(boolean free, String what) {
        if (!free) {
            throw new BadInputException("adapter.trainable_tokens: " + what + " already carries another adapter");
        }
    }

    /** The trainable rows of {@code module} ({@code embed_tokens} or {@code lm_head}) in adapter {@code name}, or null. */
    NDArray tokenValues(String name, String module) {
        TrainableTokens tt = tokenRows.get(module);
        TrainableTokens.Rows r = tt == null ? null : tt.adapters.get(name);
        return r == null ? null : r.values();
    }

    /**
     * Adds adapter {@code name} whose update is exactly {@code Σ wᵢ·ΔWᵢ} of existing adapters (PEFT's
     * {@code add_weighted_adapter} with {@code combination_type="cat"}): the factors are stacked,
     * {@code A = [w₁s₁A₁; w₂s₂A₂; ...]}, {@code B = [B₁ B₂ ...]}, rank {@code Σ rᵢ}, scaling 1.
     * Modules targeted by only some of the adapters get only their terms.
     */
    public void addWeighted(String name, List<String> sources, List<Double> weights) {
        if (sources.isEmpty() || sources.size() != weights.size()) {
            throw new BadInputException("a weighted adapter needs one weight per adapter (got " + sources.size()
                    + " adapters and " + weights.size() + " weights)");
        }
        sources.forEach(this::requireAdapter);
        for (String source : sources) {
            if (configs.get(source).useDora()) {
                throw new BadInputException("adapter '" + source + "' is a DoRA adapter (use_dora): a weighted sum of "
                        + "DoRA adapters is not a DoRA adapter; merge it on its own");
            }
        }
        if (configs.containsKey(name)) {
            throw new BadInputException("adapter '" + name + "' already exists");
        }
        Map<String, NDArray[]> stacked = new LinkedHashMap<>();
        for (Map.Entry<String, LoraLinear> e : layers.entrySet()) {
            List<NDArray> as = new ArrayList<>();
            List<NDArray> bs = new ArrayList<>();
            for (int i = 0; i < sources.size(); i++) {
                LoraWeights w = e.getValue().adapters.get(sources.get(i));
                if (w != null) {
                    as.add(w.a().mul((float) (weights.get(i) * w.scalingValue())));
                    bs.add(w.b());
                }
            }
            if (!as.isEmpty()) {
                NDArray a = as.size() == 1 ? as.get(0) : NDArrays.concat(new NDList(as), 0);
                NDArray b = bs.size() == 1 ? bs.get(0).duplicate() : NDArrays.concat(new NDList(bs), 1);
                stacked.put(e.getKey(), new NDArray[] {a, b});
            }
        }
        Map<String, Integer> ranks = new LinkedHashMap<>();
        stacked.forEach((path, ab) -> ranks.put(path.replaceFirst("^model\\.", ""), (int) ab[0].getShape().get(0)));
        Map<String, Double> alphas = new LinkedHashMap<>();
        ranks.forEach((k, r) -> alphas.put(k, (double) r)); // scaling = alpha / r = 1
        int r = ranks.values().stream().findFirst().orElse(configs.get(sources.get(0)).r());
        List<String> kinds = stacked.keySet().stream().map(p -> p.substring(p.lastIndexOf('.') + 1)).distinct().toList();
        LoraConfig combined = new LoraConfig(r, r, 0, false, new TargetModules.Names(kinds), List.of(), ranks, alphas,
                List.of());
        addWith(name, combined, (path, shapeA, shapeB) -> {
            NDArray[] ab = stacked.get(path);
            if (ab == null) {
                // targeted by name in another layer only: a zero update of rank shapeA[0]
                return new NDArray[] {manager.zeros(new Shape(shapeA), DataType.FLOAT32), manager.zeros(new Shape(shapeB), DataType.FLOAT32)};
            }
            return ab;
        });
    }

    /** The Hugging Face tensor behind a {@code modules_to_save} entry. */
    static String moduleTensor(String module) {
        return switch (module) {
            case "embed_tokens" -> "model.embed_tokens.weight";
            case "lm_head" -> "lm_head.weight";
            default -> throw new BadInputException("modules_to_save: unsupported module '" + module + "'");
        };
    }

    private static int layerIndex(String path) {
        // model.layers.{i}.self_attn.q_proj
        String[] parts = path.split("\\.");
        return Integer.parseInt(parts[2]);
    }

    // ---------------------------------------------------------------- state

    /** Makes exactly these adapters active (applied in forward passes). */
    public void activate(String... names) {
        for (String n : names) {
            requireAdapter(n);
        }
        active.clear();
        active.addAll(List.of(names));
        applyModules();
    }

    /** Turns every adapter off: the model computes exactly the base model. */
    public void disable() {
        disabled = true;
        applyModules();
    }

    /** Turns the active adapters back on. */
    public void enable() {
        disabled = false;
        applyModules();
    }

    /** Runs {@code body} on the base model (adapters off), then restores the previous state. */
    public <T> T withAdaptersDisabled(Supplier<T> body) {
        boolean was = disabled;
        disable();
        try {
            return body.get();
        } finally {
            if (!was) {
                enable();
            }
        }
    }

    public boolean isDisabled() {
        return disabled;
    }

    public boolean isActive(String name) {
        return active.contains(name);
    }

    public boolean isMerged(String name) {
        return mergedOriginals.containsKey(name);
    }

    /** Training mode turns adapter dropout on. */
    public void setTraining(boolean training) {
        this.training = training;
    }

    public boolean isTraining() {
        return training;
    }

    private void applyModules() {
        // A modules_to_save copy replaces the base tensor while its adapter is active and enabled.
        for (Map.Entry<String, NDArray> e : baseModules.entrySet()) {
            NDArray value = e.getValue();
            if (!disabled) {
                for (String name : active) {
                    NDArray trained = savedModules.getOrDefault(name, Map.of()).get(e.getKey());
                    if (trained != null) {
                        value = trained;
                    }
                }
            }
            model.replace(e.getKey(), value);
        }
    }

    // ---------------------------------------------------------------- merge

    /**
     * Folds adapter {@code name} into the base weights ({@code W ← W + scaling·B·A}); the adapter then
     * stops being applied separately. The original weights are kept for {@link #unmerge}.
     */
    public void merge(String name) {
        requireAdapter(name);
        if (isMerged(name)) {
            return;
        }
        Map<String, NDArray> originals = new LinkedHashMap<>();
        for (LoraLinear ll : layers.values()) {
            LoraWeights w = ll.adapters.get(name);
            if (w == null) {
                continue;
            }
            NDArray original = ll.base().weight();
            NDArray merged;
            try (NDScope scope = new NDScope()) {
                merged = original.add(w.delta());
                if (w.isDora()) {
                    // W' = m ⊙ (W + s·B·A) / ‖W + s·B·A‖ by rows, the norm over the base without adapters merged
                    // before this one (as PEFT's _unmerged_base_weight), the same norm forward uses
                    NDArray k = w.magnitude().div(w.weightNorm(unmergedWeight(ll.base().name() + ".weight", original)));
                    merged = merged.mul(k.reshape(-1, 1)); // [out, 1] over [out, in]
                }
                NDScope.unregister(merged);
            }
            if (merged.isNaN().any().getBoolean() || merged.isInfinite().any().getBoolean()) {
                merged.close();
                throw new BadInputException("merging adapter '" + name + "' into " + ll.base().name()
                        + " produces NaN or infinite weights; the adapter is broken");
            }
            originals.put(ll.base().name() + ".weight", original);
            model.replace(ll.base().name() + ".weight", merged);
        }
        for (TrainableTokens tt : tokenRows.values()) {
            TrainableTokens.Rows r = tt.adapters.get(name);
            if (r == null) {
                continue;
            }
            // PEFT's index_copy: the trained rows replace the base rows exactly
            String tensor = moduleTensor(tt.module());
            NDArray original = model.parameters().get(tensor);
            NDArray merged = original.duplicate();
            NDScope.unregister(merged);
            for (int k = 0; k < r.ids().length; k++) {
                merged.set(new NDIndex("{}", r.ids()[k]), r.values().get(k));
            }
            originals.put(tensor, original);
            model.replace(tensor, merged);
        }
        mergedOriginals.put(name, originals);
    }

    /** {@code tensor} as it was before any adapter was merged into it ({@code current} when none is). */
    private NDArray unmergedWeight(String tensor, NDArray current) {
        for (Map<String, NDArray> originals : mergedOriginals.values()) {
            NDArray first = originals.get(tensor);
            if (first != null) {
                return first;
            }
        }
        return current;
    }

    /** Undoes {@link #merge}: the original base weights come back unchanged. */
    public void unmerge(String name) {
        Map<String, NDArray> originals = mergedOriginals.remove(name);
        if (originals == null) {
            return;
        }
        for (Map.Entry<String, NDArray> e : originals.entrySet()) {
            NDArray merged = model.parameters().get(e.getKey());
            model.replace(e.getKey(), e.getValue());
            merged.close();
        }
    }

    // ---------------------------------------------------------------- parameters

    /**
     * The trainable tensors of adapter {@code name} under PEFT's saved names
     * ({@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight}, DoRA's
     * {@code ...q_proj.lora_magnitude_vector}), plus its {@code modules_to_save} copies
     * ({@code base_model.model.lm_head.weight}).
     */
    public Map<String, NDArray> parameters(String name) {
        requireAdapter(name);
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, LoraLinear> e : layers.entrySet()) {
            LoraWeights w = e.getValue().adapters.get(name);
            if (w != null) {
                out.put(PEFT_PREFIX + e.getKey() + ".lora_A.weight", w.a());
                out.put(PEFT_PREFIX + e.getKey() + ".lora_B.weight", w.b());
                if (w.isDora()) {
                    out.put(PEFT_PREFIX + e.getKey() + MAGNITUDE, w.magnitude());
                }
            }
        }
        savedModules.get(name).forEach((tensor, value) -> out.put(PEFT_PREFIX + tensor, value));
        for (TrainableTokens tt : tokenRows.values()) {
            TrainableTokens.Rows r = tt.adapters.get(name);
            if (r != null) {
                out.put(tt.key(), r.values());
            }
        }
        return out;
    }

    /** Marks adapter {@code name}'s tensors as requiring gradients (everything else stays frozen). */
    public Map<String, NDArray> trainableParameters(String name) {
        Map<String, NDArray> p = parameters(name);
        p.values().forEach(a -> a.setRequiresGradient(true));
        return p;
    }

    /** Number of trainable values of adapter {@code name}. */
    public long parameterCount(String name) {
        return parameters(name).values().stream().mapToLong(a -> a.getShape().size()).sum();
    }

    public LoraConfig config(String name) {
        requireAdapter(name);
        return configs.get(name);
    }

    public List<String> adapterNames() {
        return new ArrayList<>(configs.keySet());
    }

    /** The LoRA wrapper of the projection at {@code path}, or null. */
    public LoraLinear layer(String path) {
        return layers.get(path);
    }

    public Llama model() {
        return model;
    }

    NDManager manager() {
        return manager;
    }

    /** A 0-d 1.0, for DoRA's forward. */
    NDArray one() {
        return one;
    }

    private void requireAdapter(String name) {
        if (!configs.containsKey(name)) {
            throw new BadInputException("no adapter named '" + name + "' (have: " + String.join(", ", configs.keySet()) + ")");
        }
    }

    /** Detaches every adapter from the model and frees their tensors; the base model is left as it was. */
    @Override
    public void close() {
        for (String name : new ArrayList<>(mergedOriginals.keySet())) {
            unmerge(name);
        }
        disabled = true;
        applyModules();
        for (LoraLinear ll : layers.values()) {
            ll.base().setAdapter(null);
        }
        for (TrainableTokens tt : tokenRows.values()) {
            if (model.embeddingAdapter() == tt) {
                model.setEmbeddingAdapter(null);
            }
            if (model.lmHead().adapter() == tt) {
                model.lmHead().setAdapter(null);
            }
        }
        manager.close();
    }
}
