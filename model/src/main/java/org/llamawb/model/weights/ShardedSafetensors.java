package org.llamawb.model.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.llamawb.model.BadInputException;

/**
 * A checkpoint split over several safetensors files, as listed by {@code model.safetensors.index.json}
 * ({@code {"metadata": {...}, "weight_map": {tensor name: shard file name}}}).
 *
 * <p>All shards are opened (and so validated) up front; every name of the weight map must be present in
 * the shard it points to. As in transformers, only the names of the weight map are exposed.
 */
public final class ShardedSafetensors implements WeightSource {
    /** The index file name transformers writes beside the shards. */
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path index;
    private final List<Safetensors> shards;
    private final Map<String, Safetensors> byName;

    private ShardedSafetensors(Path index, List<Safetensors> shards, Map<String, Safetensors> byName) {
        this.index = index;
        this.shards = shards;
        this.byName = byName;
    }

    /** Opens the index file and every shard it names. */
    public static ShardedSafetensors open(Path indexFile) {
        if (!Files.isRegularFile(indexFile)) {
            throw new BadInputException(indexFile + ": not found");
        }
        JsonNode root;
        try {
            root = JSON.readTree(indexFile.toFile());
        } catch (IOException e) {
            throw new BadInputException(indexFile + ": not valid JSON: " + e.getMessage().lines().findFirst().orElse(""), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new BadInputException(indexFile + ": expected an object with a \"weight_map\" object (tensor name -> shard file)");
        }
        Path dir = indexFile.toAbsolutePath().getParent();
        Map<String, Safetensors> shardsByFile = new LinkedHashMap<>();
        Map<String, Safetensors> byName = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, JsonNode> e : map.properties()) {
                String name = e.getKey();
                if (!e.getValue().isTextual()) {
                    throw new BadInputException(indexFile + ": weight_map." + name + " must be a file name, got " + e.getValue());
                }
                String fileName = e.getValue().textValue();
                Safetensors shard = shardsByFile.get(fileName);
                if (shard == null) {
                    Path p = dir.resolve(fileName).normalize();
                    if (!p.getParent().equals(dir.normalize())) {
                        throw new BadInputException(indexFile + ": weight_map." + name + " names '" + fileName
                                + "', which is not a file beside the index");
                    }
                    if (!Files.isRegularFile(p)) {
                        throw new BadInputException(indexFile + ": shard '" + fileName + "' (holding '" + name
                                + "') does not exist");
                    }
                    shard = Safetensors.open(p);
                    shardsByFile.put(fileName, shard);
                }
                if (!shard.names().contains(name)) {
                    throw new BadInputException(indexFile + ": maps '" + name + "' to shard '" + fileName
                            + "', which has no such tensor");
                }
                byName.put(name, shard);
            }
        } catch (RuntimeException e) {
            shardsByFile.values().forEach(Safetensors::close);
            throw e;
        }
        return new ShardedSafetensors(indexFile, List.copyOf(shardsByFile.values()), Collections.unmodifiableMap(byName));
    }

    /** The shard files, in the order the index first names them. */
    public List<Path> shardFiles() {
        List<Path> files = new ArrayList<>();
        shards.forEach(s -> files.add(s.path()));
        return files;
    }

    @Override
    public Set<String> names() {
        return byName.keySet();
    }

    @Override
    public TensorInfo info(String name) {
        return shard(name).info(name);
    }

    @Override
    public NDArray load(String name, NDManager manager) {
        return shard(name).load(name, manager);
    }

    private Safetensors shard(String name) {
        Safetensors s = byName.get(name);
        if (s == null) {
            throw new BadInputException(index + ": no tensor named '" + name + "' in the weight map");
        }
        return s;
    }

    @Override
    public String description() {
        return index.toString();
    }

    @Override
    public void close() {
        shards.forEach(Safetensors::close);
    }
}
