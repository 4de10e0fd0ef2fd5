package org.llamawb.model.generate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import org.llamawb.model.BadInputException;
import org.llamawb.model.weights.Checkpoint;

/**
 * A model's own generation settings: the token ids that end generation and its suggested sampling,
 * from {@code generation_config.json} when the model has one (as transformers' {@code generate} uses it).
 *
 * <p>llama2.c models end a story with BOS (its run.c stops there), so for them BOS is a stop token too;
 * {@code model convert} writes that into the converted model's {@code generation_config.json}.
 *
 * @param stopIds ids that end generation
 * @param temperature suggested temperature (0 = greedy)
 * @param topP suggested top-p
 * @param topK suggested top-k (0 = off)
 */
public record GenerationDefaults(Set<Integer> stopIds, double temperature, double topP, int topK) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public GenerationDefaults {
        stopIds = Set.copyOf(stopIds);
    }

    /** The defaults of an opened checkpoint. */
    public static GenerationDefaults of(Checkpoint c) {
        Set<Integer> stops = new LinkedHashSet<>(c.config().eosTokenIds());
        if (c.format() == Checkpoint.Format.LLAMA2C && c.config().bosTokenId() >= 0) {
            stops.add(c.config().bosTokenId());
        }
        Path file = c.directory() == null ? null : c.directory().resolve("generation_config.json");
        if (c.format() == Checkpoint.Format.HUGGING_FACE && file != null && Files.isRegularFile(file)) {
            return read(file, stops);
        }
        return new GenerationDefaults(stops, 0, 1, 0);
    }

    private static GenerationDefaults read(Path file, Set<Integer> fallbackStops) {
        JsonNode g;
        try {
            g = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new BadInputException(file + ": not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        Set<Integer> stops = new LinkedHashSet<>();
        JsonNode eos = g.get("eos_token_id");
        if (eos == null || eos.isNull()) {
            stops.addAll(fallbackStops);
        } else if (eos.isArray()) {
            eos.forEach(e -> stops.add(e.asInt()));
        } else if (eos.isIntegralNumber()) {
            stops.add(eos.asInt());
        } else {
            throw new BadInputException(file + ": eos_token_id: expected an integer or a list of integers");
        }
        boolean sample = g.path("do_sample").asBoolean(false);
        return new GenerationDefaults(stops, sample ? g.path("temperature").asDouble(1.0) : 0,
                g.path("top_p").asDouble(1.0), sample ? g.path("top_k").asInt(50) : 0);
    }

    /** Writes {@code generation_config.json} with these stop ids, as transformers reads it. */
    public void write(Path dir, int bosTokenId) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        if (bosTokenId >= 0) {
            o.put("bos_token_id", bosTokenId);
        }
        ArrayNode eos = o.putArray("eos_token_id");
        stopIds.forEach(eos::add);
        if (temperature > 0) {
            o.put("do_sample", true);
            o.put("temperature", temperature);
            o.put("top_p", topP);
            o.put("top_k", topK);
        }
        o.put("transformers_version", "4.46.0");
        Files.createDirectories(dir);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("generation_config.json").toFile(), o);
    }
}
