package org.llamawb.model.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.llamawb.model.BadInputException;

/**
 * One {@code .safetensors} file, memory-mapped.
 *
 * <p>Layout: an unsigned 64-bit little-endian header length N, N bytes of UTF-8 JSON mapping each
 * tensor name to {@code {"dtype", "shape", "data_offsets": [begin, end]}} (offsets relative to the
 * data section that follows the header) plus an optional {@code "__metadata__"} string map, then the
 * data section. Everything is checked when the file is opened, as the reference implementation does:
 * the header lies inside the file, every byte range matches its dtype and shape, and the ranges tile
 * the data section exactly (no gap, no overlap, nothing after the last tensor). A truncated or
 * corrupt file is therefore a {@link BadInputException} naming the file and the tensor, never a read
 * outside the mapping.
 */
public final class Safetensors implements WeightSource {
    /** The reference implementation refuses headers above this size; so do we. */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private record Entry(TensorInfo info, long begin, long end) {}

    private final MappedFile file;
    private final long dataStart;
    private final Map<String, Entry> tensors;
    private final Map<String, String> metadata;
    private volatile boolean closed;

    private Safetensors(MappedFile file, long dataStart, Map<String, Entry> tensors, Map<String, String> metadata) {
        this.file = file;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Opens and validates {@code path}; an error naming the file and tensor when it is not a valid file. */
    public static Safetensors open(Path path) {
        MappedFile file = MappedFile.open(path);
        try {
            return parse(file);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static Safetensors parse(MappedFile file) {
        Path path = file.path();
        long size = file.size();
        if (size < 8) {
            throw new BadInputException(path + ": " + size + " bytes is too short for a safetensors file "
                    + "(expected an 8-byte header length, then a JSON header)");
        }
        long headerLength = file.read(0, 8).getLong();
        if (headerLength < 0 || headerLength > size - 8) {
            throw new BadInputException(path + ": header length " + Long.toUnsignedString(headerLength)
                    + " points past the end of the file (" + size + " bytes); the file is truncated or not safetensors");
        }
        if (headerLength > MAX_HEADER_BYTES) {
            throw new BadInputException(path + ": header length " + headerLength + " exceeds the "
                    + MAX_HEADER_BYTES + "-byte limit of the safetensors format");
        }
        ByteBuffer raw = file.read(8, (int) headerLength);
        byte[] bytes = new byte[raw.remaining()];
        raw.get(bytes);
        if (bytes.length == 0 || bytes[0] != '{') {
            throw new BadInputException(path + ": the header does not start with '{' (not a safetensors file)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new BadInputException(path + ": header is not valid JSON: " + firstLine(e.getMessage()), e);
        }
        long dataStart = 8 + headerLength;
        long dataLength = size - dataStart;

        Map<String, String> metadata = Map.of();
        List<Map.Entry<String, Entry>> entries = new ArrayList<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            String name = field.getKey();
            if (name.equals("__metadata__")) {
                metadata = metadata(path, field.getValue());
                continue;
            }
            Entry e = entry(path, name, field.getValue());
            if (e.end > dataLength) {
                throw new BadInputException(path + ": tensor '" + name + "': data_offsets [" + e.begin + ", " + e.end
                        + "] end past the data section of " + dataLength + " bytes (file truncated?)");
            }
            entries.add(Map.entry(name, e));
        }

        // The byte ranges must tile the data section: sorted by offset, each starts where the last ended.
        entries.sort(Comparator.comparingLong((Map.Entry<String, Entry> e) -> e.getValue().begin)
                .thenComparingLong(e -> e.getValue().end));
        long expected = 0;
        String previous = null;
        Map<String, Entry> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, Entry> e : entries) {
            Entry t = e.getValue();
            if (t.begin != expected) {
                String where = previous == null ? "the start of the data section (0)"
                        : "the end of tensor '" + previous + "' (" + expected + ")";
                throw new BadInputException(path + ": tensor '" + e.getKey() + "' starts at byte " + t.begin
                        + " but " + where + " is expected: tensors " + (t.begin < expected ? "overlap" : "leave a gap"));
            }
            expected = t.end;
            previous = e.getKey();
            tensors.put(e.getKey(), t);
        }
        if (expected != dataLength) {
            throw new BadInputException(path + ": " + (dataLength - expected) + " bytes follow the last tensor"
                    + (previous == null ? "" : " '" + previous + "'") + " (expected the data section to end at byte "
                    + expected + ")");
        }
        return new Safetensors(file, dataStart, Collections.unmodifiableMap(tensors), metadata);
    }

    private static Map<String, String> metadata(Path path, JsonNode node) {
        if (!node.isObject()) {
            throw new BadInputException(path + ": __metadata__ must be an object of strings, got " + node.getNodeType());
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> f : node.properties()) {
            if (!f.getValue().isTextual()) {
                throw new BadInputException(path + ": __metadata__." + f.getKey() + " must be a string, got " + f.getValue());
            }
            m.put(f.getKey(), f.getValue().textValue());
        }
        return Collections.unmodifiableMap(m);
    }

    private static Entry entry(Path path, String name, JsonNode node) {
        String where = path + ": tensor '" + name + "': ";
        if (!node.isObject()) {
            throw new BadInputException(where + "expected an object with dtype, shape and data_offsets");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new BadInputException(where + "missing or non-string 'dtype'");
        }
        StorageType dtype = switch (dtypeNode.textValue()) {
            case "F32" -> StorageType.F32;
            case "F16" -> StorageType.F16;
            case "BF16" -> StorageType.BF16;
            default -> throw new BadInputException(where + "dtype " + dtypeNode.textValue()
                    + " is not supported (supported: F32, F16, BF16)");
        };
        long[] shape = nonNegativeLongs(where, node.get("shape"), "shape", -1);
        long[] offsets = nonNegativeLongs(where, node.get("data_offsets"), "data_offsets", 2);
        if (offsets[1] < offsets[0]) {
            throw new BadInputException(where + "data_offsets " + Arrays.toString(offsets) + " end before they begin");
        }
        long bytes;
        try {
            long n = 1;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            bytes = Math.multiplyExact(n, dtype.bytes());
        } catch (ArithmeticException e) {
            throw new BadInputException(where + "shape " + Arrays.toString(shape) + " is too large");
        }
        if (offsets[1] - offsets[0] != bytes) {
            throw new BadInputException(where + "data_offsets " + Arrays.toString(offsets) + " hold "
                    + (offsets[1] - offsets[0]) + " bytes but " + dtype.safetensorsName() + " " + Arrays.toString(shape)
                    + " needs " + bytes);
        }
        return new Entry(new TensorInfo(name, dtype, shape), offsets[0], offsets[1]);
    }

    private static long[] nonNegativeLongs(String where, JsonNode node, String key, int length) {
        if (node == null || !node.isArray() || (length >= 0 && node.size() != length)) {
            throw new BadInputException(where + "'" + key + "' must be an array of "
                    + (length >= 0 ? length + " " : "") + "non-negative integers, got " + node);
        }
        long[] v = new long[node.size()];
        for (int i = 0; i < v.length; i++) {
            JsonNode e = node.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToLong() || e.longValue() < 0) {
                throw new BadInputException(where + "'" + key + "' must hold non-negative integers, got " + node);
            }
            v[i] = e.longValue();
        }
        return v;
    }

    /** The {@code __metadata__} string map (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    public Path path() {
        return file.path();
    }

    @Override
    public Set<String> names() {
        return tensors.keySet();
    }

    @Override
    public TensorInfo info(String name) {
        return entry(name).info;
    }

    @Override
    public NDArray load(String name, NDManager manager) {
        Entry e = entry(name);
        if (closed) {
            throw new IllegalStateException(description() + " is closed");
        }
        return TensorDecoder.decode(file, dataStart + e.begin, e.info.dtype(), e.info.shape(), manager);
    }

    private Entry entry(String name) {
        Entry e = tensors.get(name);
        if (e == null) {
            throw new BadInputException(file.path() + ": no tensor named '" + name + "'");
        }
        return e;
    }

    @Override
    public String description() {
        return file.path().toString();
    }

    @Override
    public void close() {
        closed = true;
        file.close();
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }
}
