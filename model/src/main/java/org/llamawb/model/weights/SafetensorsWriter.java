package org.llamawb.model.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Writes tensors as safetensors, byte for byte as the Python {@code safetensors} library and
 * transformers' {@code save_pretrained} do.
 *
 * <ul>
 *   <li>Every tensor is stored as the writer's {@link StorageType} (F32, F16 or BF16); both roundings
 *       are torch's, round to nearest even ({@link #toFloat16}, {@link #toBfloat16}).</li>
 *   <li>The header is compact JSON with {@code __metadata__ {"format": "pt"}} first, then the tensors in
 *       the order of their data: by dtype size, largest first, then by name (the library's rule), padded
 *       with spaces to a multiple of 8 bytes.</li>
 *   <li>{@link #writeDirectory} shards like huggingface_hub: tensors are taken in the order they were
 *       added and a shard is closed when the next tensor would exceed the limit (a tensor larger than the
 *       limit gets a shard of its own); shards are {@code model-00001-of-00003.safetensors} with a
 *       {@code model.safetensors.index.json} ({@code metadata.total_parameters}, {@code metadata.total_size},
 *       sorted {@code weight_map}, two-space indentation); a single shard is {@code model.safetensors}.</li>
 *   <li>Every file is written to a temporary file in the same folder and then renamed over the target.</li>
 * </ul>
 *
 * <p>Sources are read only while writing, one tensor at a time, so a whole checkpoint can be copied from a
 * {@link WeightSource} without holding it in memory.
 */
public final class SafetensorsWriter {
    /** The file name of an unsharded checkpoint. */
    public static final String SINGLE_FILE = "model.safetensors";
    /** transformers' default {@code max_shard_size} ("50GB"). */
    public static final long DEFAULT_MAX_SHARD_BYTES = 50_000_000_000L;

    private static final Pattern SHARD_NAME = Pattern.compile("model-\\d{5}-of-\\d{5}\\.safetensors");
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Values converted per step: bounds the temporary memory for large tensors. */
    private static final int CHUNK = 1 << 24;

    /** Where a tensor's values come from at write time. */
    private interface Values {
        /** Feeds all values in row-major order, in pieces of at most {@code max}. */
        void forEachChunk(int max, ChunkSink sink) throws IOException;
    }

    @FunctionalInterface
    private interface ChunkSink {
        void accept(float[] values, int from, int to) throws IOException;
    }

    private record Pending(String name, long[] shape, Values values) {
        long elements() {
            long n = 1;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    private final StorageType dtype;
    private final Map<String, Pending> tensors = new LinkedHashMap<>();
    private final Map<String, String> metadata = new TreeMap<>(Map.of("format", "pt"));
    private long maxShardBytes = DEFAULT_MAX_SHARD_BYTES;

    /** A writer storing every tensor as {@code dtype} (F32, F16 or BF16). */
    public SafetensorsWriter(StorageType dtype) {
        if (dtype == StorageType.QUANTIZED) {
            throw new IllegalArgumentException("safetensors are written as F32, F16 or BF16, not " + dtype);
        }
        this.dtype = dtype;
    }

    /** The largest shard {@link #writeDirectory} writes, in bytes of tensor data. */
    public SafetensorsWriter maxShardBytes(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("max shard size must be > 0, got " + bytes);
        }
        this.maxShardBytes = bytes;
        return this;
    }

    /** Adds an entry to {@code __metadata__} (which holds {@code format: pt} already). */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds an array (any float type, any device); it is read when the file is written. */
    public SafetensorsWriter add(String name, NDArray array) {
        return put(new Pending(name, array.getShape().getShape(), (max, sink) -> feed(array, max, sink)));
    }

    /** Adds row-major {@code values} of the given shape. */
    public SafetensorsWriter add(String name, float[] values, long... shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(name + ": negative dimension in " + Arrays.toString(shape));
            }
            n *= d;
        }
        if (n != values.length) {
            throw new IllegalArgumentException(name + ": " + values.length + " values do not fill shape "
                    + Arrays.toString(shape));
        }
        return put(new Pending(name, shape.clone(), (max, sink) -> {
            for (int start = 0; start < values.length; start += max) {
                sink.accept(values, start, Math.min(values.length, start + max));
            }
            if (values.length == 0) {
                sink.accept(values, 0, 0);
            }
        }));
    }

    /** Adds one tensor of {@code source}; it is loaded (as float32) only while it is written. */
    public SafetensorsWriter add(String name, WeightSource source) {
        return put(new Pending(name, source.info(name).shape(), (max, sink) -> {
            try (NDManager m = NDManager.newBaseManager(); NDArray a = source.load(name, m)) {
                feed(a, max, sink);
            }
        }));
    }

    /** Adds every tensor of {@code source}, in its order. */
    public SafetensorsWriter addAll(WeightSource source) {
        for (String name : source.names()) {
            add(name, source);
        }
        return this;
    }

    private SafetensorsWriter put(Pending p) {
        if (tensors.containsKey(p.name)) {
            throw new IllegalArgumentException("tensor '" + p.name + "' added twice");
        }
        p.elements(); // fails early on a shape whose size overflows
        tensors.put(p.name, p);
        return this;
    }

    /** Feeds the values of {@code array} in flat pieces of at most {@code max}. */
    private static void feed(NDArray array, int max, ChunkSink sink) throws IOException {
        long n = array.size();
        if (n <= max) {
            float[] v = floats(array);
            sink.accept(v, 0, v.length);
            return;
        }
        try (NDArray flat = array.reshape(-1)) {
            for (long start = 0; start < n; start += max) {
                try (NDArray piece = flat.get(new NDIndex("{}:{}", start, Math.min(n, start + max)))) {
                    float[] v = floats(piece);
                    sink.accept(v, 0, v.length);
                }
            }
        }
    }

    private static float[] floats(NDArray a) {
        if (a.getDataType() == DataType.FLOAT32) {
            return a.toFloatArray();
        }
        try (NDArray f = a.toType(DataType.FLOAT32, true)) {
            return f.toFloatArray();
        }
    }

    // ---------------------------------------------------------------- writing

    /** Writes every tensor into one file (no sharding). */
    public void writeFile(Path file) throws IOException {
        writeAtomically(file, List.copyOf(tensors.values()));
    }

    /**
     * Writes {@code model.safetensors}, or shards and {@code model.safetensors.index.json} when the
     * tensors exceed the shard size, into {@code dir}; removes shards and files of an earlier write that
     * the new layout no longer uses. Returns the files written, the index last.
     */
    public List<Path> writeDirectory(Path dir) throws IOException {
        Files.createDirectories(dir);
        List<List<Pending>> shards = shard();
        List<Path> written = new ArrayList<>();
        if (shards.size() == 1) {
            Path file = dir.resolve(SINGLE_FILE);
            writeAtomically(file, shards.get(0));
            written.add(file);
        } else {
            Map<String, String> weightMap = new TreeMap<>();
            long totalSize = 0;
            long totalParameters = 0;
            for (int i = 0; i < shards.size(); i++) {
                String name = String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, shards.size());
                for (Pending p : shards.get(i)) {
                    weightMap.put(p.name, name);
                    totalParameters += p.elements();
                    totalSize += p.elements() * dtype.bytes();
                }
                Path file = dir.resolve(name);
                writeAtomically(file, shards.get(i));
                written.add(file);
            }
            Path index = dir.resolve(ShardedSafetensors.INDEX_FILE);
            writeIndex(index, totalParameters, totalSize, weightMap);
            written.add(index);
        }
        removeStale(dir, written);
        return written;
    }

    private List<List<Pending>> shard() {
        List<List<Pending>> shards = new ArrayList<>();
        List<Pending> current = new ArrayList<>();
        long currentBytes = 0;
        for (Pending p : tensors.values()) {
            long bytes = p.elements() * dtype.bytes();
            if (bytes > maxShardBytes) {
                shards.add(List.of(p));
                continue;
            }
            if (currentBytes + bytes > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(p);
            currentBytes += bytes;
        }
        if (!current.isEmpty() || shards.isEmpty()) {
            shards.add(current);
        }
        return shards;
    }

    private static void writeIndex(Path index, long totalParameters, long totalSize, Map<String, String> weightMap)
            throws IOException {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode meta = root.putObject("metadata");
        meta.put("total_parameters", totalParameters);
        meta.put("total_size", totalSize);
        ObjectNode map = root.putObject("weight_map");
        weightMap.forEach(map::put);
        // Python's json.dumps(indent=2, sort_keys=True): "key": value, two-space indent, newline at the end.
        DefaultPrettyPrinter printer = new DefaultPrettyPrinter(
                Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER))
                .withObjectIndenter(new DefaultIndenter("  ", "\n"));
        String text = JSON.writer(printer).writeValueAsString(root) + "\n";
        AtomicFile.write(index, text.getBytes(StandardCharsets.UTF_8));
    }

    private static void removeStale(Path dir, List<Path> written) throws IOException {
        Set<Path> keep = new HashSet<>(written);
        List<Path> stale = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                String n = f.getFileName().toString();
                boolean ours = SHARD_NAME.matcher(n).matches() || n.equals(SINGLE_FILE)
                        || n.equals(ShardedSafetensors.INDEX_FILE);
                if (ours && !keep.contains(f)) {
                    stale.add(f);
                }
            }
        }
        for (Path f : stale) {
            Files.deleteIfExists(f);
        }
    }

    /** The header of one file, with the tensors in data order. */
    private byte[] header(List<Pending> ordered) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode meta = root.putObject("__metadata__");
        metadata.forEach(meta::put);
        long offset = 0;
        for (Pending p : ordered) {
            ObjectNode t = root.putObject(p.name);
            t.put("dtype", dtype.safetensorsName());
            ArrayNode shape = t.putArray("shape");
            for (long d : p.shape) {
                shape.add(d);
            }
            long end = offset + p.elements() * dtype.bytes();
            t.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    private void writeAtomically(Path file, List<Pending> tensors) throws IOException {
        // One dtype per file, so the library's order (dtype size descending, then name) is by name, compared
        // as UTF-8 bytes as Rust compares strings.
        List<Pending> ordered = new ArrayList<>(tensors);
        ordered.sort(Comparator.comparing(p -> p.name.getBytes(StandardCharsets.UTF_8), Arrays::compareUnsigned));
        byte[] header = header(ordered);
        AtomicFile.write(file, out -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
            AtomicFile.writeFully(out, len);
            AtomicFile.writeFully(out, ByteBuffer.wrap(header));
            for (Pending p : ordered) {
                long expected = p.elements();
                long[] seen = {0};
                p.values.forEachChunk(CHUNK, (v, from, to) -> {
                    seen[0] += to - from;
                    AtomicFile.writeFully(out, encode(v, from, to));
                });
                if (seen[0] != expected) {
                    throw new IllegalStateException("tensor '" + p.name + "' produced " + seen[0] + " values, expected "
                            + expected + " for shape " + Arrays.toString(p.shape));
                }
            }
        });
    }

    private ByteBuffer encode(float[] v, int from, int to) {
        int n = to - from;
        ByteBuffer buf = ByteBuffer.allocate(n * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32 -> {
                for (int i = from; i < to; i++) {
                    buf.putFloat(v[i]);
                }
            }
            case BF16 -> {
                for (int i = from; i < to; i++) {
                    buf.putShort(toBfloat16(v[i]));
                }
            }
            case F16 -> {
                for (int i = from; i < to; i++) {
                    buf.putShort(toFloat16(v[i]));
                }
            }
            default -> throw new IllegalStateException("unreachable: " + dtype);
        }
        return buf.flip();
    }

    /**
     * float32 → IEEE half bits, rounding to nearest even as torch's {@code c10::detail::fp16_ieee_from_fp32_value}
     * does (NaN becomes 0x7E00, 65520 and above overflow to infinity, tiny values become subnormals or
     * zero). Written here because libtorch's CPU kernel reached through DJL encodes NaN as 0x7FFF, so
     * its files would differ from torch's.
     */
    public static short toFloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7FFFFFFF;
        if (abs > 0x7F800000) {
            return (short) (sign | 0x7E00);
        }
        if (abs >= 0x477FF000) { // at or past the midpoint between 65504 and 65536: infinity
            return (short) (sign | 0x7C00);
        }
        if (abs < 0x38800000) { // below 2^-14, the smallest normal half: a multiple of 2^-24
            if (abs < 0x33000000) { // below 2^-25: rounds to zero
                return (short) sign;
            }
            int exponent = abs >>> 23;
            int mantissa = (abs & 0x7FFFFF) | 0x800000;
            int shift = 126 - exponent; // value / 2^-24 = mantissa * 2^(exponent - 126)
            int q = mantissa >>> shift;
            int rest = mantissa & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (rest > halfway || (rest == halfway && (q & 1) == 1)) {
                q++;
            }
            return (short) (sign | q);
        }
        int h = (abs >>> 13) - (112 << 10); // rebias the exponent from 127 to 15, keep 10 mantissa bits
        int rest = abs & 0x1FFF;
        if (rest > 0x1000 || (rest == 0x1000 && (h & 1) == 1)) {
            h++; // a carry into the exponent is the correct next binade
        }
        return (short) (sign | h);
    }

    /**
     * float32 → bfloat16 bits, rounding to nearest even as torch does. NaN becomes 0xFFFF, as torch's
     * CPU kernel for tensors writes it (its scalar path writes 0x7FC0; files come from the former).
     */
    public static short toBfloat16(float f) {
        if (Float.isNaN(f)) {
            return (short) 0xFFFF;
        }
        int bits = Float.floatToRawIntBits(f);
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }
}
