package org.llamawb.adapters;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.llamawb.model.BadInputException;
import org.llamawb.model.ModelDirectory;
import org.llamawb.model.weights.Safetensors;
import org.llamawb.model.weights.SafetensorsWriter;
import org.llamawb.model.weights.StorageType;
import org.llamawb.model.weights.TensorInfo;

/**
 * PEFT's on-disk adapter: {@code adapter_config.json} plus {@code adapter_model.safetensors} with
 * tensors named {@code base_model.model.<module>.lora_A.weight} {@code [r, in]} and
 * {@code ...lora_B.weight} {@code [out, r]}, with DoRA {@code ...lora_magnitude_vector} {@code [out]} (and
 * {@code base_model.model.<module>.weight} for {@code modules_to_save}), in float32. Python PEFT, vLLM and llama.cpp's converter read this.
 */
public final class PeftAdapterFormat {
    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    /** PEFT's {@code task_type} of an adapter on a sequence classifier (a reward model). */
    public static final String SEQ_CLS = "SEQ_CLS";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** What ends the key of trained token rows ({@link TrainableTokens#key(String)}) after the module's path. */
    private static final String TOKEN_ROWS = ".token_adapter.trainable_tokens_delta";

    private PeftAdapterFormat() {}

    /**
     * Writes adapter {@code name} into {@code dir} (created, or replaced atomically when it exists and
     * holds an adapter).
     *
     * @param baseModel the base model as the user named it: a path (written absolute, see {@link
     *     #baseModelReference}) or a Hub id
     */
    public static void write(LoraModel lora, String name, Path dir, String baseModel) {
        write(lora, name, dir, baseModel, Map.of());
    }

    /**
     * Writes adapter {@code name} with extra {@code modules_to_save} heads that live outside the LLaMA model
     * (a sequence classifier's {@code score}): each head {@code h} is saved as {@code base_model.model.h.weight}
     * and named in {@code modules_to_save}, and the adapter's {@code task_type} becomes {@code SEQ_CLS}, so
     * PEFT loads it onto {@code LlamaForSequenceClassification}. Without heads this is {@link #write(LoraModel,
     * String, Path, String)}.
     */
    public static void write(LoraModel lora, String name, Path dir, String baseModel, Map<String, NDArray> heads) {
        LoraConfig c = lora.config(name);
        Path abs = dir.toAbsolutePath();
        Path tmp = abs.resolveSibling("." + abs.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        try {
            ModelDirectory.deleteTree(tmp);
            Files.createDirectories(tmp);
            JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.resolve(CONFIG_FILE).toFile(),
                    configJson(c, baseModelReference(baseModel), List.copyOf(heads.keySet())));
            SafetensorsWriter w = new SafetensorsWriter(StorageType.F32);
            lora.parameters(name).forEach(w::add);
            heads.forEach((head, value) -> w.add(LoraModel.PEFT_PREFIX + head + ".weight", value));
            w.writeFile(tmp.resolve(WEIGHTS_FILE));
            if (Files.exists(abs)) {
                if (!Files.isRegularFile(abs.resolve(CONFIG_FILE)) && Files.list(abs).findAny().isPresent()) {
                    throw new BadInputException(dir + ": exists and is not an adapter directory; refusing to replace it");
                }
                Path old = abs.resolveSibling("." + abs.getFileName() + ".old-" + ProcessHandle.current().pid());
                Files.move(abs, old, StandardCopyOption.ATOMIC_MOVE);
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
                ModelDirectory.deleteTree(old);
            } else {
                Files.createDirectories(abs.getParent());
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            ModelDirectory.deleteTree(tmp);
            throw new UncheckedIOException("cannot write adapter " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * What {@code base_model_name_or_path} says: a base model that exists on this machine as its absolute,
     * normalised path (a relative one would only load from the directory the run was started in); anything
     * else, such as a Hub id ({@code meta-llama/Llama-2-7b-hf}), as given.
     */
    static String baseModelReference(String baseModel) {
        if (baseModel == null || baseModel.isBlank()) {
            return baseModel;
        }
        try {
            Path p = Path.of(baseModel);
            return Files.exists(p) ? p.toAbsolutePath().normalize().toString() : baseModel;
        } catch (java.nio.file.InvalidPathException notAPath) {
            return baseModel;
        }
    }

    /** {@code adapter_config.json} as PEFT writes it (the keys every PEFT version since 0.9 reads). */
    static ObjectNode configJson(LoraConfig c, String baseModel) {
        return configJson(c, baseModel, List.of());
    }

    private static ObjectNode configJson(LoraConfig c, String baseModel, List<String> heads) {
        ObjectNode o = JSON.createObjectNode();
        ObjectNode alpha = o.putObject("alpha_pattern");
        c.alphaPattern().forEach(alpha::put);
        o.putNull("auto_mapping");
        o.put("base_model_name_or_path", baseModel);
        o.put("bias", "none");
        o.put("fan_in_fan_out", false);
        o.put("inference_mode", true);
        o.put("init_lora_weights", true);
        o.putNull("layer_replication");
        o.putNull("layers_pattern");
        if (c.layersToTransform().isEmpty()) {
            o.putNull("layers_to_transform");
        } else {
            ArrayNode l = o.putArray("layers_to_transform");
            c.layersToTransform().forEach(l::add);
        }
        o.putObject("loftq_config");
        o.put("lora_alpha", c.alpha());
        o.put("lora_dropout", c.dropout());
        o.putNull("megatron_config");
        o.put("megatron_core", "megatron.core");
        if (c.modulesToSave().isEmpty() && heads.isEmpty()) {
            o.putNull("modules_to_save");
        } else {
            ArrayNode l = o.putArray("modules_to_save");
            c.modulesToSave().forEach(l::add);
            heads.forEach(l::add);
        }
        o.put("peft_type", "LORA");
        Map<String, List<Integer>> tokens = c.trainableTokenIndices();
        if (tokens.isEmpty()) {
            o.putNull("trainable_token_indices");
        } else if (tokens.keySet().equals(Set.of("embed_tokens"))) {
            ArrayNode l = o.putArray("trainable_token_indices"); // PEFT's list form: the embedding (and a tied head)
            tokens.get("embed_tokens").forEach(l::add);
        } else {
            ObjectNode byModule = o.putObject("trainable_token_indices");
            tokens.forEach((module, ids) -> ids.forEach(byModule.putArray(module)::add));
        }
        o.put("r", c.r());
        ObjectNode rank = o.putObject("rank_pattern");
        c.rankPattern().forEach(rank::put);
        o.putNull("revision");
        if (c.targetModules() instanceof TargetModules.Regex r) {
            o.put("target_modules", r.pattern());
        } else {
            // PEFT expands all-linear to the concrete names when it saves
            List<String> names = c.targetModules() instanceof TargetModules.Names n ? n.names()
                    : List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
            ArrayNode l = o.putArray("target_modules");
            names.forEach(l::add);
        }
        o.put("task_type", heads.isEmpty() ? "CAUSAL_LM" : SEQ_CLS);
        o.put("use_dora", c.useDora());
        o.put("use_rslora", c.useRslora());
        return o;
    }

    /** Reads {@code adapter_config.json} of an adapter directory. */
    public static LoraConfig readConfig(Path dir) {
        return readConfig(dir, Set.of());
    }

    /**
     * Reads {@code adapter_config.json}; {@code modules_to_save} entries in {@code heads} are heads outside the
     * LLaMA model, left out of the returned config (and each must be named there).
     */
    static LoraConfig readConfig(Path dir, Set<String> heads) {
        Path file = dir.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(dir + ": not a PEFT adapter directory (no " + CONFIG_FILE + ")");
        }
        JsonNode j;
        try {
            j = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new BadInputException(file + ": not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        try {
            return parseConfig(j, heads);
        } catch (BadInputException e) {
            throw new BadInputException(file + ": " + e.getMessage(), e);
        }
    }

    static LoraConfig parseConfig(JsonNode j) {
        return parseConfig(j, Set.of());
    }

    private static LoraConfig parseConfig(JsonNode j, Set<String> heads) {
        String type = j.path("peft_type").asText("LORA");
        boolean seqCls = j.path("task_type").asText("").equals(SEQ_CLS);
        if (seqCls && heads.isEmpty()) {
            throw new BadInputException("task_type: SEQ_CLS is a sequence-classification (reward model) adapter; "
                    + "use it as a reward model (--reward-model), not as a language-model adapter");
        }
        if (!type.equals("LORA")) {
            throw new BadInputException("peft_type: '" + type + "' is not supported (expected LORA)");
        }
        if (!j.path("bias").asText("none").equals("none")) {
            throw new BadInputException("bias: '" + j.path("bias").asText() + "' is not supported (expected none)");
        }
        if (j.path("fan_in_fan_out").asBoolean(false)) {
            throw new BadInputException("fan_in_fan_out: true is for GPT-2 style Conv1D layers, not LLaMA");
        }
        if (!j.hasNonNull("r")) {
            throw new BadInputException("missing required key 'r'");
        }
        JsonNode targets = j.get("target_modules");
        if (targets == null || targets.isNull()) {
            throw new BadInputException("missing required key 'target_modules'");
        }
        Object t = targets.isArray() ? toStrings(targets) : targets.asText();
        List<Integer> layers = new ArrayList<>();
        JsonNode ltt = j.get("layers_to_transform");
        if (ltt != null && ltt.isIntegralNumber()) {
            layers.add(ltt.asInt());
        } else if (ltt != null && ltt.isArray()) {
            ltt.forEach(n -> layers.add(n.asInt()));
        }
        Map<String, Integer> rank = new LinkedHashMap<>();
        j.path("rank_pattern").fields().forEachRemaining(e -> rank.put(e.getKey(), e.getValue().asInt()));
        Map<String, Double> alpha = new LinkedHashMap<>();
        j.path("alpha_pattern").fields().forEachRemaining(e -> alpha.put(e.getKey(), e.getValue().asDouble()));
        List<String> save = j.hasNonNull("modules_to_save") ? toStrings(j.get("modules_to_save")) : List.of();
        for (String head : heads) {
            if (!save.contains(head)) {
                throw new BadInputException("modules_to_save does not name '" + head + "': not an adapter with that head "
                        + "(expected a sequence-classification adapter saved with modules_to_save=[\"" + head + "\"])");
            }
        }
        // PEFT adds its default head names for SEQ_CLS ("classifier", "score"); LLaMA has no "classifier"
        save = save.stream().filter(m -> !heads.contains(m) && !(seqCls && m.equals("classifier"))).distinct().toList();
        return new LoraConfig(j.get("r").asInt(), j.path("lora_alpha").asDouble(8), j.path("lora_dropout").asDouble(0),
                j.path("use_rslora").asBoolean(false), TargetModules.parse(t), layers, rank, alpha, save,
                trainableTokens(j.get("trainable_token_indices")), j.path("use_dora").asBoolean(false));
    }

    /** {@code trainable_token_indices}: a list (the embedding) or a map from module name to a list. */
    private static Map<String, List<Integer>> trainableTokens(JsonNode n) {
        Map<String, List<Integer>> out = new LinkedHashMap<>();
        if (n == null || n.isNull()) {
            return out;
        }
        if (n.isArray()) {
            out.put("embed_tokens", ids(n, "trainable_token_indices"));
        } else if (n.isObject()) {
            n.fields().forEachRemaining(e -> out.put(e.getKey(), ids(e.getValue(), "trainable_token_indices." + e.getKey())));
        } else {
            throw new BadInputException("trainable_token_indices: expected a list of token ids or a map from module to ids");
        }
        return out;
    }

    private static List<Integer> ids(JsonNode a, String key) {
        if (!a.isArray()) {
            throw new BadInputException(key + ": expected a list of token ids");
        }
        List<Integer> out = new ArrayList<>();
        a.forEach(v -> {
            if (!v.isIntegralNumber()) {
                throw new BadInputException(key + ": '" + v + "' is not a token id");
            }
            out.add(v.asInt());
        });
        return out;
    }

    private static List<String> toStrings(JsonNode a) {
        List<String> out = new ArrayList<>();
        a.forEach(n -> out.add(n.asText()));
        return out;
    }

    /**
     * Loads the adapter in {@code dir} onto {@code lora}'s model as adapter {@code name} (active).
     * Every tensor must belong to a targeted module with the shape the config and the base imply.
     */
    public static LoraConfig read(LoraModel lora, String name, Path dir) {
        read(lora, name, dir, Map.of());
        return lora.config(name);
    }

    /**
     * Loads the adapter in {@code dir} as {@link #read(LoraModel, String, Path)} does, together with heads kept
     * in {@code modules_to_save} that are not part of the LLaMA model (see {@link #write(LoraModel, String, Path,
     * String, Map)}): {@code heads} maps each head's module name to the shape its {@code weight} must have.
     *
     * @return each head's weight, a private copy in the adapter's memory (freed when {@code lora} closes)
     */
    public static Map<String, NDArray> read(LoraModel lora, String name, Path dir, Map<String, long[]> heads) {
        LoraConfig config = readConfig(dir, heads.keySet());
        Map<String, NDArray> loadedHeads = new LinkedHashMap<>();
        Path file = dir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(dir + ": no " + WEIGHTS_FILE + " (adapter_model.bin is not supported; "
                    + "save with safe_serialization=True)");
        }
        try (Safetensors st = Safetensors.open(file)) {
            Map<String, String> byCanonical = new LinkedHashMap<>();
            for (String raw : st.names()) {
                byCanonical.put(canonical(raw, name), raw);
            }
            Set<String> used = new HashSet<>();
            lora.addWith(name, config, (path, shapeA, shapeB) -> {
                String prefix = LoraModel.PEFT_PREFIX + path;
                NDArray a = tensor(st, byCanonical, used, prefix + ".lora_A.weight", shapeA, file, lora);
                NDArray b = tensor(st, byCanonical, used, prefix + ".lora_B.weight", shapeB, file, lora);
                return config.useDora()
                        ? new NDArray[] {a, b, tensor(st, byCanonical, used, prefix + LoraModel.MAGNITUDE,
                                new long[] {shapeB[0]}, file, lora)}
                        : new NDArray[] {a, b};
            });
            for (String module : config.modulesToSave()) {
                String key = LoraModel.PEFT_PREFIX + LoraModel.moduleTensor(module);
                NDArray current = lora.parameters(name).get(key);
                NDArray loaded = tensor(st, byCanonical, used, key, current.getShape().getShape(), file, lora);
                current.set(loaded.toFloatArray());
                loaded.close();
            }
            for (String module : config.trainableTokenIndices().keySet()) {
                NDArray current = lora.tokenValues(name, module); // [k, d], the base rows until set
                NDArray loaded = tensor(st, byCanonical, used, TrainableTokens.key(module), current.getShape().getShape(),
                        file, lora);
                current.set(loaded.toFloatArray());
                loaded.close();
            }
            for (Map.Entry<String, long[]> head : heads.entrySet()) {
                NDArray w = tensor(st, byCanonical, used, LoraModel.PEFT_PREFIX + head.getKey() + ".weight",
                        head.getValue(), file, lora);
                NDScope.unregister(w); // lives as long as the adapter, not a caller's step scope
                loadedHeads.put(head.getKey(), w);
            }
            for (String canonicalName : byCanonical.keySet()) {
                if (!used.contains(canonicalName)) {
                    if (canonicalName.endsWith(LoraModel.MAGNITUDE) && !config.useDora()) {
                        throw new BadInputException(file + ": tensor '" + byCanonical.get(canonicalName) + "' is a DoRA "
                                + "magnitude but " + CONFIG_FILE + " has no \"use_dora\": true");
                    }
                    throw new BadInputException(file + ": tensor '" + byCanonical.get(canonicalName)
                            + "' belongs to no module this adapter targets in the base model");
                }
            }
        }
        return loadedHeads;
    }

    /**
     * Checks, from the files' headers alone (no model in memory), that the language-model adapter in {@code dir}
     * fits a base whose tensors have {@code baseShapes} (Hugging Face names, {@code [out, in]} for linear
     * layers, as {@code LlamaLayout.expected} gives them): each {@code lora_A} {@code [r, in]} and {@code lora_B}
     * {@code [out, r]} adapts a projection the base has with those sizes, and each saved module or token row has
     * the base's width. Loading ({@link #read(LoraModel, String, Path)}) checks everything again.
     *
     * @throws BadInputException one line naming the file and the first tensor that does not fit
     */
    public static void checkFits(Path dir, Map<String, long[]> baseShapes) {
        readConfig(dir, Set.of());
        Path file = dir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(dir + ": no " + WEIGHTS_FILE + " (adapter_model.bin is not supported; "
                    + "save with safe_serialization=True)");
        }
        try (Safetensors st = Safetensors.open(file)) {
            for (String raw : st.names()) {
                String key = canonical(raw, "default");
                key = key.startsWith(LoraModel.PEFT_PREFIX) ? key.substring(LoraModel.PEFT_PREFIX.length()) : key;
                long[] shape = st.info(raw).shape();
                boolean a = key.endsWith(".lora_A.weight");
                boolean b = key.endsWith(".lora_B.weight");
                boolean rows = key.endsWith(TOKEN_ROWS);
                boolean magnitude = key.endsWith(LoraModel.MAGNITUDE); // DoRA: one value per output row, [out]
                String module = a || b ? key.substring(0, key.length() - ".lora_A.weight".length()) + ".weight"
                        : rows ? key.substring(0, key.length() - TOKEN_ROWS.length()) + ".weight"
                        : magnitude ? key.substring(0, key.length() - LoraModel.MAGNITUDE.length()) + ".weight" : key;
                // a tied model has no lm_head tensor: its rows are the embedding's
                long[] base = baseShapes.getOrDefault(module,
                        module.equals("lm_head.weight") ? baseShapes.get("model.embed_tokens.weight") : null);
                if (base == null) {
                    throw new BadInputException(file + ": tensor '" + raw + "' belongs to '" + module + "', which the base "
                            + "model does not have (the adapter was made on another base)");
                }
                boolean fits = magnitude ? shape.length == 1 && base.length == 2 && shape[0] == base[0]
                        : shape.length == 2 && base.length == 2
                        && (a ? shape[1] == base[1] : b ? shape[0] == base[0]
                                : rows ? shape[1] == base[1]
                                : java.util.Arrays.equals(shape, base));
                if (!fits) {
                    throw new BadInputException(file + ": tensor '" + raw + "' has shape " + java.util.Arrays.toString(shape)
                            + ", which does not fit the base model's '" + module + "' " + java.util.Arrays.toString(base)
                            + " (the adapter was made on another base)");
                }
            }
        }
    }

    /**
     * PEFT may keep the adapter name in keys ({@code lora_A.default.weight}); we compare without it. DoRA's
     * magnitude is saved as {@code lora_magnitude_vector}, in memory {@code lora_magnitude_vector.default.weight}.
     */
    private static String canonical(String key, String name) {
        return key.replaceFirst("\\.lora_magnitude_vector(\\.(" + java.util.regex.Pattern.quote(name)
                        + "|default))?(\\.weight)?$", LoraModel.MAGNITUDE).replace(".lora_A." + name + ".", ".lora_A.").replace(".lora_B." + name + ".", ".lora_B.")
                .replace(".lora_A.default.", ".lora_A.").replace(".lora_B.default.", ".lora_B.")
                .replace(".modules_to_save." + name + ".", ".").replace(".modules_to_save.default.", ".")
                .replaceFirst("\\.trainable_tokens_delta\\.(" + java.util.regex.Pattern.quote(name) + "|default)$",
                        ".trainable_tokens_delta");
    }

    private static NDArray tensor(Safetensors st, Map<String, String> byCanonical, Set<String> used, String key,
            long[] shape, Path file, LoraModel lora) {
        String raw = byCanonical.get(key);
        if (raw == null) {
            throw new BadInputException(file + ": missing tensor '" + key + "' (the config targets this module)");
        }
        TensorInfo info = st.info(raw);
        if (!java.util.Arrays.equals(info.shape(), shape)) {
            throw new BadInputException(file + ": tensor '" + raw + "': expected shape " + java.util.Arrays.toString(shape)
                    + " for this base model but found " + info.shapeString());
        }
        used.add(key);
        NDArray a = st.load(raw, lora.manager());
        // a private copy: the file mapping closes with this reader, and training updates the factors in place
        NDArray copy = a.duplicate();
        a.close();
        return copy;
    }
}
