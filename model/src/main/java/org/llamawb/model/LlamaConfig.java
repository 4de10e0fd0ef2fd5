package org.llamawb.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The shape of a LLaMA-family model, bound from a Hugging Face {@code config.json}.
 *
 * <p>Field names follow the JSON keys; validation happens here, so a model is never built from a
 * contradictory configuration. Defaults are those of transformers' {@code LlamaConfig}.
 *
 * @param vocabSize {@code vocab_size}
 * @param hiddenSize {@code hidden_size}, the model width d
 * @param intermediateSize {@code intermediate_size}, the SwiGLU hidden width
 * @param numHiddenLayers {@code num_hidden_layers}
 * @param numAttentionHeads {@code num_attention_heads}
 * @param numKeyValueHeads {@code num_key_value_heads} (grouped-query attention when fewer than heads)
 * @param headDim {@code head_dim}, may differ from hidden / heads
 * @param ropeTheta {@code rope_theta}
 * @param ropeScaling {@code rope_scaling} or {@code rope_parameters}; {@link RopeScaling#NONE} when absent
 * @param rmsNormEps {@code rms_norm_eps}
 * @param tieWordEmbeddings {@code tie_word_embeddings}: the LM head reuses the embedding matrix
 * @param bosTokenId {@code bos_token_id}, -1 when absent
 * @param eosTokenIds {@code eos_token_id} (an int or a list)
 * @param attentionBias {@code attention_bias}
 * @param mlpBias {@code mlp_bias}
 * @param maxPositionEmbeddings {@code max_position_embeddings}
 */
public record LlamaConfig(
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        double ropeTheta,
        RopeScaling ropeScaling,
        double rmsNormEps,
        boolean tieWordEmbeddings,
        int bosTokenId,
        List<Integer> eosTokenIds,
        boolean attentionBias,
        boolean mlpBias,
        int maxPositionEmbeddings) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public LlamaConfig {
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("num_key_value_heads", numKeyValueHeads);
        positive("head_dim", headDim);
        positive("max_position_embeddings", maxPositionEmbeddings);
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new BadInputException("num_attention_heads (" + numAttentionHeads
                    + ") must be a multiple of num_key_value_heads (" + numKeyValueHeads + ")");
        }
        if (headDim % 2 != 0) {
            throw new BadInputException("head_dim must be even for rotary embeddings, got " + headDim);
        }
        if (!(ropeTheta > 0)) {
            throw new BadInputException("rope_theta must be > 0, got " + ropeTheta);
        }
        if (!(rmsNormEps > 0)) {
            throw new BadInputException("rms_norm_eps must be > 0, got " + rmsNormEps);
        }
        ropeScaling = ropeScaling == null ? RopeScaling.NONE : ropeScaling;
        eosTokenIds = List.copyOf(eosTokenIds);
        for (int id : eosTokenIds) {
            if (id < 0 || id >= vocabSize) {
                throw new BadInputException("eos_token_id " + id + " is outside the vocabulary [0, " + vocabSize + ")");
            }
        }
        if (bosTokenId >= vocabSize) {
            throw new BadInputException("bos_token_id " + bosTokenId + " is outside the vocabulary [0, " + vocabSize + ")");
        }
    }

    /** A plain Llama config with the usual defaults: heads = kv heads, head_dim = hidden / heads. */
    public static LlamaConfig of(int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads) {
        if (hidden % heads != 0) {
            throw new BadInputException("hidden_size (" + hidden + ") must be divisible by num_attention_heads ("
                    + heads + ") when head_dim is not given");
        }
        return new LlamaConfig(vocab, hidden, intermediate, layers, heads, kvHeads, hidden / heads, 10000.0,
                RopeScaling.NONE, 1e-5, false, 1, List.of(2), false, false, 2048);
    }

    /** Heads of queries that share one key/value head. */
    public int groupSize() {
        return numAttentionHeads / numKeyValueHeads;
    }

    /** Number of parameters, counting a tied embedding once. */
    public long parameterCount() {
        long d = hiddenSize;
        long q = (long) numAttentionHeads * headDim;
        long kv = (long) numKeyValueHeads * headDim;
        long attn = d * q + 2 * d * kv + q * d + (attentionBias ? q + 2 * kv + d : 0);
        long mlp = 3 * d * intermediateSize + (mlpBias ? 2L * intermediateSize + d : 0);
        long perLayer = attn + mlp + 2 * d;
        long embed = (long) vocabSize * d;
        return embed + (tieWordEmbeddings ? 0 : embed) + numHiddenLayers * perLayer + d;
    }

    public LlamaConfig withVocabSize(int v) {
        return new LlamaConfig(v, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, headDim, ropeTheta, ropeScaling, rmsNormEps, tieWordEmbeddings, bosTokenId,
                eosTokenIds, attentionBias, mlpBias, maxPositionEmbeddings);
    }

    public LlamaConfig withTokens(int bos, List<Integer> eos) {
        return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, headDim, ropeTheta, ropeScaling, rmsNormEps, tieWordEmbeddings, bos, eos,
                attentionBias, mlpBias, maxPositionEmbeddings);
    }

    public LlamaConfig withTiedEmbeddings(boolean tied) {
        return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, headDim, ropeTheta, ropeScaling, rmsNormEps, tied, bosTokenId, eosTokenIds,
                attentionBias, mlpBias, maxPositionEmbeddings);
    }

    public LlamaConfig withMaxPositionEmbeddings(int max) {
        return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, headDim, ropeTheta, ropeScaling, rmsNormEps, tieWordEmbeddings, bosTokenId,
                eosTokenIds, attentionBias, mlpBias, max);
    }

    public LlamaConfig withRmsNormEps(double eps) {
        return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, headDim, ropeTheta, ropeScaling, eps, tieWordEmbeddings, bosTokenId,
                eosTokenIds, attentionBias, mlpBias, maxPositionEmbeddings);
    }

    // ---------------------------------------------------------------- config.json

    /** Reads {@code config.json} from a model directory (or the file itself). */
    public static LlamaConfig read(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve("config.json") : path;
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file + ": not found (a Hugging Face model directory needs config.json)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new BadInputException(file + ": not valid JSON: " + firstLine(e.getMessage()));
        }
        if (root == null || !root.isObject()) {
            throw new BadInputException(file + ": expected a JSON object");
        }
        return fromJson(root, file.toString());
    }

    /** Binds a parsed {@code config.json}; {@code source} names it in error messages. */
    public static LlamaConfig fromJson(JsonNode c, String source) {
        try {
            String modelType = c.path("model_type").asText("llama");
            if (!modelType.equals("llama") && !modelType.equals("mistral")) {
                throw new BadInputException("model_type: '" + modelType + "' is not a LLaMA-family model (expected llama)");
            }
            String act = c.path("hidden_act").asText("silu");
            if (!act.equals("silu") && !act.equals("swish")) {
                throw new BadInputException("hidden_act: '" + act + "' is not supported (LLaMA uses silu)");
            }
            int hidden = requiredInt(c, "hidden_size");
            int heads = requiredInt(c, "num_attention_heads");
            int kvHeads = optInt(c, "num_key_value_heads", heads);
            int headDim;
            if (c.hasNonNull("head_dim")) {
                headDim = requiredInt(c, "head_dim");
            } else {
                if (hidden % heads != 0) {
                    throw new BadInputException("hidden_size (" + hidden + ") is not divisible by num_attention_heads ("
                            + heads + ") and no head_dim is given");
                }
                headDim = hidden / heads;
            }
            double theta = 10000.0;
            RopeScaling scaling = RopeScaling.NONE;
            JsonNode rp = c.get("rope_parameters");
            JsonNode rs = c.get("rope_scaling");
            if (rp != null && !rp.isNull()) {
                if (!rp.isObject()) {
                    throw new BadInputException("rope_parameters: expected an object");
                }
                theta = optDouble(rp, "rope_theta", optDouble(c, "rope_theta", theta, ""), "rope_parameters.");
                scaling = ropeScaling(rp, "rope_parameters");
            } else {
                theta = optDouble(c, "rope_theta", theta, "");
                if (rs != null && !rs.isNull()) {
                    if (!rs.isObject()) {
                        throw new BadInputException("rope_scaling: expected an object or null");
                    }
                    scaling = ropeScaling(rs, "rope_scaling");
                }
            }
            int vocab = requiredInt(c, "vocab_size");
            return new LlamaConfig(
                    vocab,
                    hidden,
                    requiredInt(c, "intermediate_size"),
                    requiredInt(c, "num_hidden_layers"),
                    heads,
                    kvHeads,
                    headDim,
                    theta,
                    scaling,
                    optDouble(c, "rms_norm_eps", 1e-6, ""),
                    optBool(c, "tie_word_embeddings", false),
                    tokenIds(c, "bos_token_id", List.of()).stream().findFirst().orElse(-1),
                    tokenIds(c, "eos_token_id", List.of()),
                    optBool(c, "attention_bias", false),
                    optBool(c, "mlp_bias", false),
                    optInt(c, "max_position_embeddings", 2048));
        } catch (BadInputException e) {
            throw new BadInputException(source + ": " + e.getMessage(), e);
        }
    }

    private static RopeScaling ropeScaling(JsonNode r, String key) {
        String typeName = r.hasNonNull("rope_type") ? r.get("rope_type").asText() : r.path("type").asText("default");
        RopeScaling.Type type = RopeScaling.Type.parse(typeName, key + ".rope_type");
        String p = key + ".";
        return switch (type) {
            case DEFAULT -> RopeScaling.NONE;
            case LINEAR -> new RopeScaling(type, requiredDouble(r, "factor", p), 0, 0, 0);
            case LLAMA3 -> new RopeScaling(type, requiredDouble(r, "factor", p),
                    requiredDouble(r, "low_freq_factor", p), requiredDouble(r, "high_freq_factor", p),
                    (int) requiredDouble(r, "original_max_position_embeddings", p));
        };
    }

    /** Writes this configuration as a transformers-compatible {@code config.json} object. */
    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.putArray("architectures").add("LlamaForCausalLM");
        o.put("model_type", "llama");
        o.put("vocab_size", vocabSize);
        o.put("hidden_size", hiddenSize);
        o.put("intermediate_size", intermediateSize);
        o.put("num_hidden_layers", numHiddenLayers);
        o.put("num_attention_heads", numAttentionHeads);
        o.put("num_key_value_heads", numKeyValueHeads);
        o.put("head_dim", headDim);
        o.put("hidden_act", "silu");
        o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("rms_norm_eps", rmsNormEps);
        o.put("rope_theta", ropeTheta);
        if (ropeScaling.type() == RopeScaling.Type.DEFAULT) {
            o.putNull("rope_scaling");
        } else {
            ObjectNode r = o.putObject("rope_scaling");
            r.put("rope_type", ropeScaling.type().hfName());
            r.put("factor", ropeScaling.factor());
            if (ropeScaling.type() == RopeScaling.Type.LLAMA3) {
                r.put("low_freq_factor", ropeScaling.lowFreqFactor());
                r.put("high_freq_factor", ropeScaling.highFreqFactor());
                r.put("original_max_position_embeddings", ropeScaling.originalMaxPositionEmbeddings());
            }
        }
        o.put("tie_word_embeddings", tieWordEmbeddings);
        o.put("attention_bias", attentionBias);
        o.put("attention_dropout", 0.0);
        o.put("mlp_bias", mlpBias);
        if (bosTokenId >= 0) {
            o.put("bos_token_id", bosTokenId);
        } else {
            o.putNull("bos_token_id");
        }
        if (eosTokenIds.size() == 1) {
            o.put("eos_token_id", eosTokenIds.get(0));
        } else if (eosTokenIds.isEmpty()) {
            o.putNull("eos_token_id");
        } else {
            ArrayNode a = o.putArray("eos_token_id");
            eosTokenIds.forEach(a::add);
        }
        o.put("initializer_range", 0.02);
        o.put("pretraining_tp", 1);
        o.put("use_cache", true);
        o.put("torch_dtype", "float32");
        return o;
    }

    /** Writes {@code config.json} into {@code dir}. */
    public void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), toJson());
    }

    // ---------------------------------------------------------------- JSON helpers

    private static void positive(String key, int v) {
        if (v <= 0) {
            throw new BadInputException(key + " must be > 0, got " + v);
        }
    }

    private static int requiredInt(JsonNode c, String key) {
        JsonNode n = c.get(key);
        if (n == null || n.isNull()) {
            throw new BadInputException("missing required key '" + key + "'");
        }
        if (!n.canConvertToInt() || !n.isIntegralNumber()) {
            throw new BadInputException(key + ": expected an integer, got " + n);
        }
        return n.intValue();
    }

    private static int optInt(JsonNode c, String key, int dflt) {
        JsonNode n = c.get(key);
        return n == null || n.isNull() ? dflt : requiredInt(c, key);
    }

    private static double requiredDouble(JsonNode c, String key, String prefix) {
        JsonNode n = c.get(key);
        if (n == null || n.isNull()) {
            throw new BadInputException("missing required key '" + prefix + key + "'");
        }
        if (!n.isNumber()) {
            throw new BadInputException(prefix + key + ": expected a number, got " + n);
        }
        return n.doubleValue();
    }

    private static double optDouble(JsonNode c, String key, double dflt, String prefix) {
        JsonNode n = c.get(key);
        return n == null || n.isNull() ? dflt : requiredDouble(c, key, prefix);
    }

    private static boolean optBool(JsonNode c, String key, boolean dflt) {
        JsonNode n = c.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw new BadInputException(key + ": expected true or false, got " + n);
        }
        return n.booleanValue();
    }

    private static List<Integer> tokenIds(JsonNode c, String key, List<Integer> dflt) {
        JsonNode n = c.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        List<Integer> ids = new ArrayList<>();
        if (n.isArray()) {
            for (JsonNode e : n) {
                if (!e.isIntegralNumber()) {
                    throw new BadInputException(key + ": expected an integer or a list of integers, got " + n);
                }
                ids.add(e.intValue());
            }
        } else if (n.isIntegralNumber()) {
            ids.add(n.intValue());
        } else {
            throw new BadInputException(key + ": expected an integer or a list of integers, got " + n);
        }
        return ids;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }
}
