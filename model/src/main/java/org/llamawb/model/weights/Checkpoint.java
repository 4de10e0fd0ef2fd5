package org.llamawb.model.weights;

import org.llamawb.model.gguf.GgufWeights;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.llamawb.model.BadInputException;
import org.llamawb.model.LlamaConfig;

/**
 * A model checkpoint as found on disk: its configuration and its weights under Hugging Face names.
 *
 * @param format the kind of checkpoint
 * @param location what the user named (a directory or a file)
 * @param config the model shape
 * @param weights the tensors, validated against {@code config}
 * @param directory the folder holding the checkpoint, where a tokenizer is looked for
 */
public record Checkpoint(Format format, Path location, LlamaConfig config, WeightSource weights, Path directory)
        implements AutoCloseable {

    /** Checkpoint kinds. */
    public enum Format {
        /** A directory with config.json and model.safetensors (or a sharded index). */
        HUGGING_FACE,
        /** A llama2.c .bin file (legacy or version 1). */
        LLAMA2C,
        /** A GGUF file. */
        GGUF
    }

    private static final String EXPECTED = "expected a Hugging Face model directory (config.json with model.safetensors"
            + " or model.safetensors.index.json), a llama2.c .bin checkpoint or a .gguf file";
    private static final ObjectMapper JSON = new ObjectMapper();

    public Checkpoint {
        if (format == null || location == null || config == null || weights == null || directory == null) {
            throw new IllegalArgumentException("every checkpoint component is required");
        }
    }

    /**
     * Opens a Hugging Face directory (or its {@code config.json} / {@code model.safetensors}), a llama2.c
     * {@code .bin} file or a GGUF file (dequantised to float32), and checks the tensors against the configuration.
     */
    public static Checkpoint open(Path path) {
        if (Files.isDirectory(path)) {
            return openHuggingFace(path, path);
        }
        if (!Files.isRegularFile(path)) {
            throw new BadInputException(path + ": not found (" + EXPECTED + ")");
        }
        String name = path.getFileName().toString();
        Path parent = path.toAbsolutePath().getParent();
        byte[] magic = firstBytes(path, 4);
        if (name.endsWith(".gguf") || startsWith(magic, "GGUF")) {
            GgufWeights g = GgufWeights.open(path);
            return validated(new Checkpoint(Format.GGUF, path, g.config(), g, parent));
        }
        if (name.equals("config.json") || name.endsWith(".safetensors") || name.equals(ShardedSafetensors.INDEX_FILE)) {
            if (Files.isRegularFile(parent.resolve("config.json"))) {
                return openHuggingFace(parent, path);
            }
            throw new BadInputException(path + ": no config.json beside it (" + EXPECTED + ")");
        }
        if (startsWith(magic, "PK")) {
            throw new BadInputException(path + ": a PyTorch pickle/zip checkpoint is not supported (" + EXPECTED
                    + "; convert it to safetensors first)");
        }
        if (name.endsWith(".bin") || Llama2cCheckpoint.hasMagic(ByteBuffer.wrap(magic).order(ByteOrder.LITTLE_ENDIAN))) {
            Llama2cCheckpoint c = Llama2cCheckpoint.open(path);
            return validated(new Checkpoint(Format.LLAMA2C, path, c.config(), c, parent));
        }
        throw new BadInputException(path + ": unrecognised model file (" + EXPECTED + ")");
    }

    private static Checkpoint openHuggingFace(Path dir, Path location) {
        Path config = dir.resolve("config.json");
        Path index = dir.resolve(ShardedSafetensors.INDEX_FILE);
        Path single = dir.resolve(SafetensorsWriter.SINGLE_FILE);
        if (!Files.isRegularFile(config)) {
            throw new BadInputException(dir + ": no config.json (" + EXPECTED + ")");
        }
        WeightSource weights;
        if (Files.isRegularFile(index)) {
            weights = ShardedSafetensors.open(index);
        } else if (Files.isRegularFile(single)) {
            weights = Safetensors.open(single);
        } else if (Files.isRegularFile(dir.resolve("pytorch_model.bin"))) {
            throw new BadInputException(dir + ": holds pytorch_model.bin, which is not supported (expected model.safetensors"
                    + " or model.safetensors.index.json; convert with transformers' save_pretrained)");
        } else {
            throw new BadInputException(dir + ": no model.safetensors or model.safetensors.index.json beside config.json");
        }
        try {
            return validated(new Checkpoint(Format.HUGGING_FACE, location, LlamaConfig.read(config), weights, dir));
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    private static Checkpoint validated(Checkpoint c) {
        try {
            LlamaLayout.validate(c.weights, c.config);
            return c;
        } catch (RuntimeException e) {
            c.weights.close();
            throw e;
        }
    }

    private static byte[] firstBytes(Path path, int n) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(n);
            while (b.hasRemaining() && ch.read(b) > 0) {
                // keep reading until n bytes or end of file
            }
            byte[] out = new byte[b.position()];
            b.flip().get(out);
            return out;
        } catch (IOException e) {
            throw new BadInputException(path + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static boolean startsWith(byte[] bytes, String prefix) {
        byte[] p = prefix.getBytes(StandardCharsets.US_ASCII);
        if (bytes.length < p.length) {
            return false;
        }
        for (int i = 0; i < p.length; i++) {
            if (bytes[i] != p[i]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() {
        weights.close();
    }

    // ---------------------------------------------------------------- writing

    /**
     * Writes a Hugging Face checkpoint: {@code config.json} and the tensors of {@code weights} (checked
     * against the config first) as safetensors of {@code dtype}, sharded above {@code maxShardBytes}. Shards
     * are filled in the order transformers 5 uses when it saves a loaded model ({@link #SAVE_ORDER}), so
     * the files equal those of {@code from_pretrained(...).save_pretrained(...)}. As transformers does, a
     * tied model is written without {@code lm_head.weight}. Tensors are read one at a time, so this
     * converts a checkpoint of any size.
     */
    public static void writeHuggingFace(Path dir, LlamaConfig config, WeightSource weights, StorageType dtype,
            long maxShardBytes) throws IOException {
        LlamaLayout.validate(weights, config);
        SafetensorsWriter w = new SafetensorsWriter(dtype).maxShardBytes(maxShardBytes);
        for (String name : savedNames(config)) {
            w.add(name, weights);
        }
        write(dir, config, w);
    }

    /** As {@link #writeHuggingFace(Path, LlamaConfig, WeightSource, StorageType, long)}, from arrays in memory. */
    public static void writeHuggingFace(Path dir, LlamaConfig config, Map<String, NDArray> tensors, StorageType dtype,
            long maxShardBytes) throws IOException {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        tensors.forEach((k, v) -> shapes.put(k, v.getShape().getShape()));
        LlamaLayout.problem(shapes, config).ifPresent(p -> {
            throw new BadInputException(dir + ": " + p);
        });
        SafetensorsWriter w = new SafetensorsWriter(dtype).maxShardBytes(maxShardBytes);
        for (String name : savedNames(config)) {
            w.add(name, tensors.get(name));
        }
        write(dir, config, w);
    }

    /**
     * transformers' {@code dot_natural_key}: names compared part by part between dots, a part of digits as
     * a number and before any text, a text part by its letters and then its trailing number
     * ({@code layers.2} before {@code layers.10}).
     */
    public static final Comparator<String> SAVE_ORDER = (a, b) -> {
        String[] x = a.split("\\.", -1);
        String[] y = b.split("\\.", -1);
        for (int i = 0; i < Math.min(x.length, y.length); i++) {
            int c = comparePart(x[i], y[i]);
            if (c != 0) {
                return c;
            }
        }
        return Integer.compare(x.length, y.length);
    };

    private static int comparePart(String a, String b) {
        boolean da = !a.isEmpty() && a.chars().allMatch(Checkpoint::isDigit);
        boolean db = !b.isEmpty() && b.chars().allMatch(Checkpoint::isDigit);
        if (da != db) {
            return da ? -1 : 1; // numbers first
        }
        if (da) {
            return compareNumbers(a, b);
        }
        int ea = a.length();
        while (ea > 0 && isDigit(a.charAt(ea - 1))) {
            ea--;
        }
        int eb = b.length();
        while (eb > 0 && isDigit(b.charAt(eb - 1))) {
            eb--;
        }
        int c = a.substring(0, ea).compareTo(b.substring(0, eb));
        if (c != 0) {
            return c;
        }
        boolean ta = ea < a.length();
        boolean tb = eb < b.length();
        if (ta != tb) {
            return ta ? 1 : -1; // ("x",) sorts before ("x", n)
        }
        return ta ? compareNumbers(a.substring(ea), b.substring(eb)) : 0;
    }

    private static boolean isDigit(int c) {
        return c >= '0' && c <= '9';
    }

    private static int compareNumbers(String a, String b) {
        String x = a.replaceFirst("^0+(?=.)", "");
        String y = b.replaceFirst("^0+(?=.)", "");
        return x.length() != y.length() ? Integer.compare(x.length(), y.length()) : x.compareTo(y);
    }

    private static List<String> savedNames(LlamaConfig config) {
        List<String> names = new ArrayList<>(LlamaLayout.expected(config).keySet());
        names.sort(SAVE_ORDER);
        return names;
    }

    private static void write(Path dir, LlamaConfig config, SafetensorsWriter w) throws IOException {
        Files.createDirectories(dir);
        w.writeDirectory(dir);
        // config.json last: a fresh directory is recognised as a checkpoint only once its weights are complete.
        byte[] json = (JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config.toJson()) + "\n")
                .getBytes(StandardCharsets.UTF_8);
        AtomicFile.write(dir.resolve("config.json"), json);
    }
}
