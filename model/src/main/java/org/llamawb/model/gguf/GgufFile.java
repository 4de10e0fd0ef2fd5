package org.llamawb.model.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import org.llamawb.model.BadInputException;
import org.llamawb.model.gguf.GgufValue.GgufArray;

/**
 * A GGUF v2/v3 file (little endian): metadata, tensor infos and a memory-mapped data section.
 *
 * <p>Layout: magic {@code GGUF}, uint32 version, uint64 tensor count, uint64 metadata count, the
 * metadata key/values, the tensor infos (name, uint32 n_dims, uint64 dims[n_dims], uint32 type, uint64
 * offset), padding to {@code general.alignment} (default 32), then the tensor data. Every count,
 * length and offset read from the file is checked against the file size before anything is allocated
 * or mapped, so a corrupt file is a {@link BadInputException} naming the file and the field at fault.
 * Tensor data is mapped on demand in windows below 2 GiB, so files and tensors larger than that work.
 */
public final class GgufFile implements AutoCloseable {
    /** {@code GGUF} read as a little-endian uint32. */
    private static final int MAGIC = 0x46554747;
    private static final int MAX_DIMS = 4;
    private static final long DEFAULT_ALIGNMENT = 32;
    /** Largest window mapped at once: whole blocks up to this many bytes. */
    private static final long WINDOW = 1L << 30;

    private final Path path;
    private final FileChannel channel;
    private final long fileSize;
    private final int version;
    private final Map<String, GgufValue> metadata;
    private final Map<String, GgufTensorInfo> tensors;
    private final long alignment;
    private final long dataOffset;

    private GgufFile(Path path, FileChannel channel) throws IOException {
        this.path = path;
        this.channel = channel;
        this.fileSize = channel.size();
        HeaderReader in = new HeaderReader(channel, fileSize, path);
        int magic = in.i32("magic");
        if (magic != MAGIC) {
            throw bad("not a GGUF file (magic bytes are not 'GGUF')");
        }
        int v = in.i32("version");
        if (v == 1) {
            throw bad("GGUF version 1 is not supported (expected 2 or 3; re-convert with a current llama.cpp)");
        }
        if (v != 2 && v != 3) {
            throw bad(Integer.reverseBytes(v) == 2 || Integer.reverseBytes(v) == 3
                    ? "big-endian GGUF is not supported (expected a little-endian file)"
                    : "unsupported GGUF version " + Integer.toUnsignedString(v) + " (expected 2 or 3)");
        }
        this.version = v;
        long tensorCount = in.u64("tensor count");
        long kvCount = in.u64("metadata count");
        // Each metadata entry takes at least 8 (key length) + 4 (type) + 1 bytes; each tensor info 8+4+4+8.
        if (kvCount < 0 || kvCount > in.remaining() / 13) {
            throw bad("metadata count " + Long.toUnsignedString(kvCount) + " does not fit in the file");
        }
        if (tensorCount < 0 || tensorCount > in.remaining() / 24) {
            throw bad("tensor count " + Long.toUnsignedString(tensorCount) + " does not fit in the file");
        }
        Map<String, GgufValue> kv = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = in.string("key of metadata entry " + i);
            long typeId = in.u32("type of '" + key + "'");
            GgufValueType type = GgufValueType.ofId(typeId).orElseThrow(
                    () -> bad("metadata '" + key + "' has unknown value type " + typeId));
            GgufValue value = readValue(in, type, key, 0);
            if (kv.put(key, value) != null) {
                throw bad("metadata key '" + key + "' appears twice");
            }
        }
        this.metadata = Collections.unmodifiableMap(kv);
        GgufValue align = kv.get("general.alignment");
        if (align == null) {
            alignment = DEFAULT_ALIGNMENT;
        } else {
            if (!align.type().isInteger()) {
                throw bad("general.alignment must be an integer, got " + align.type());
            }
            long a = (Long) align.value();
            if (a <= 0 || Long.bitCount(a) != 1 || a > (1 << 20)) {
                throw bad("general.alignment must be a power of two, got " + a);
            }
            alignment = a;
        }
        List<GgufTensorInfo> infos = new ArrayList<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = in.string("name of tensor " + i);
            long nDims = in.u32("dimension count of tensor '" + name + "'");
            if (nDims < 1 || nDims > MAX_DIMS) {
                throw bad("tensor '" + name + "' has " + nDims + " dimensions (expected 1 to " + MAX_DIMS + ")");
            }
            long[] dims = new long[(int) nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                dims[d] = in.u64("dimension " + d + " of tensor '" + name + "'");
                if (dims[d] <= 0 || dims[d] > fileSize * 8) {
                    throw bad("tensor '" + name + "' has impossible dimension " + Long.toUnsignedString(dims[d]));
                }
                elements = multiply(elements, dims[d], name);
            }
            long typeId = in.u32("type of tensor '" + name + "'");
            GgmlType type = GgmlType.ofId(typeId).orElseThrow(
                    () -> bad("tensor '" + name + "' has unknown ggml type id " + typeId));
            long offset = in.u64("offset of tensor '" + name + "'");
            if (dims[0] % type.blockSize() != 0) {
                throw bad("tensor '" + name + "': row length " + dims[0] + " is not a multiple of the " + type
                        + " block size " + type.blockSize());
            }
            long size = type.byteSize(elements);
            if (offset < 0 || offset % alignment != 0) {
                throw bad("tensor '" + name + "' offset " + Long.toUnsignedString(offset)
                        + " is not a multiple of the alignment " + alignment);
            }
            infos.add(new GgufTensorInfo(name, dims, type, offset, size));
        }
        long afterInfos = in.position();
        this.dataOffset = (afterInfos + alignment - 1) / alignment * alignment;
        long dataSize = fileSize - dataOffset;
        Map<String, GgufTensorInfo> byName = new LinkedHashMap<>();
        for (GgufTensorInfo t : infos) {
            if (t.offset() > dataSize || t.byteSize() > dataSize - t.offset()) {
                throw bad("tensor '" + t.name() + "' (" + t.byteSize() + " bytes at data offset " + t.offset()
                        + ") extends past the end of the file (truncated?)");
            }
            if (byName.put(t.name(), t) != null) {
                throw bad("tensor '" + t.name() + "' appears twice");
            }
        }
        this.tensors = Collections.unmodifiableMap(byName);
    }

    /** Opens and validates {@code path}; the data section is mapped lazily. */
    public static GgufFile open(Path path) {
        if (!Files.isRegularFile(path)) {
            throw new BadInputException(path + ": GGUF file not found");
        }
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new BadInputException(path + ": cannot open (" + e.getMessage() + ")", e);
        }
        try {
            return new GgufFile(path, ch);
        } catch (IOException e) {
            closeQuietly(ch);
            throw new BadInputException(path + ": cannot read (" + e.getMessage() + ")", e);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private GgufValue readValue(HeaderReader in, GgufValueType type, String key, int depth) throws IOException {
        return switch (type) {
            case UINT8 -> new GgufValue(type, (long) (in.u8(key) & 0xFF));
            case INT8 -> new GgufValue(type, (long) in.u8(key));
            case UINT16 -> new GgufValue(type, (long) (in.i16(key) & 0xFFFF));
            case INT16 -> new GgufValue(type, (long) in.i16(key));
            case UINT32 -> new GgufValue(type, in.u32(key));
            case INT32 -> new GgufValue(type, (long) in.i32(key));
            case UINT64, INT64 -> new GgufValue(type, in.u64(key));
            case FLOAT32 -> new GgufValue(type, (double) Float.intBitsToFloat(in.i32(key)));
            case FLOAT64 -> new GgufValue(type, Double.longBitsToDouble(in.u64(key)));
            case BOOL -> new GgufValue(type, bool(in.u8(key), key));
            case STRING -> new GgufValue(type, in.string("'" + key + "'"));
            case ARRAY -> new GgufValue(type, readArray(in, key, depth));
        };
    }

    private boolean bool(byte b, String key) {
        if (b != 0 && b != 1) {
            throw bad("metadata '" + key + "': boolean byte is " + b + " (expected 0 or 1)");
        }
        return b == 1;
    }

    private GgufArray readArray(HeaderReader in, String key, int depth) throws IOException {
        if (depth > 8) {
            throw bad("metadata '" + key + "': arrays nested deeper than 8 levels");
        }
        long typeId = in.u32("array type of '" + key + "'");
        GgufValueType et = GgufValueType.ofId(typeId).orElseThrow(
                () -> bad("metadata '" + key + "' is an array of unknown type " + typeId));
        long count = in.u64("array length of '" + key + "'");
        if (count < 0 || count > in.remaining() / et.minSize() || count > Integer.MAX_VALUE - 8) {
            throw bad("metadata '" + key + "': array length " + Long.toUnsignedString(count)
                    + " does not fit in the file");
        }
        int n = (int) count;
        Object values = switch (et) {
            case STRING -> {
                String[] s = new String[n];
                for (int i = 0; i < n; i++) {
                    s[i] = in.string("'" + key + "'[" + i + "]");
                }
                yield s;
            }
            case ARRAY -> {
                GgufArray[] a = new GgufArray[n];
                for (int i = 0; i < n; i++) {
                    a[i] = readArray(in, key + "[" + i + "]", depth + 1);
                }
                yield a;
            }
            case BOOL -> {
                boolean[] b = new boolean[n];
                for (int i = 0; i < n; i++) {
                    b[i] = bool(in.u8(key), key);
                }
                yield b;
            }
            case FLOAT32, FLOAT64 -> {
                double[] d = new double[n];
                for (int i = 0; i < n; i++) {
                    d[i] = (Double) readValue(in, et, key, depth).value();
                }
                yield d;
            }
            default -> {
                long[] l = new long[n];
                for (int i = 0; i < n; i++) {
                    l[i] = (Long) readValue(in, et, key, depth).value();
                }
                yield l;
            }
        };
        return new GgufArray(et, values);
    }

    private static long multiply(long a, long b, String tensor) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new BadInputException("tensor '" + tensor + "': element count overflows");
        }
    }

    private BadInputException bad(String what) {
        return new BadInputException(path + ": " + what);
    }

    // ---------------------------------------------------------------- accessors

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    /** All metadata, in file order. */
    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    /** Tensor infos in file order. */
    public List<GgufTensorInfo> tensors() {
        return List.copyOf(tensors.values());
    }

    public Optional<GgufTensorInfo> tensor(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    public long alignment() {
        return alignment;
    }

    /** Absolute file offset where tensor data begins. */
    public long dataOffset() {
        return dataOffset;
    }

    public Optional<GgufValue> value(String key) {
        return Optional.ofNullable(metadata.get(key));
    }

    public boolean has(String key) {
        return metadata.containsKey(key);
    }

    /** A string value; an error naming the key when absent or of another type. */
    public String string(String key) {
        return optString(key).orElseThrow(() -> bad("missing metadata '" + key + "'"));
    }

    public Optional<String> optString(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (v.type() != GgufValueType.STRING) {
            throw bad("metadata '" + key + "' must be a string, got " + v.type());
        }
        return Optional.of((String) v.value());
    }

    /** An integer value of any width; an error naming the key when absent or not an integer. */
    public long integer(String key) {
        OptionalLong v = optInteger(key);
        if (v.isEmpty()) {
            throw bad("missing metadata '" + key + "'");
        }
        return v.getAsLong();
    }

    public OptionalLong optInteger(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            return OptionalLong.empty();
        }
        if (!v.type().isInteger()) {
            throw bad("metadata '" + key + "' must be an integer, got " + v.type());
        }
        return OptionalLong.of((Long) v.value());
    }

    /** A number (integer or float). */
    public OptionalDouble optNumber(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            return OptionalDouble.empty();
        }
        if (v.value() instanceof Double d) {
            return OptionalDouble.of(d);
        }
        if (v.value() instanceof Long l) {
            return OptionalDouble.of(l);
        }
        throw bad("metadata '" + key + "' must be a number, got " + v.type());
    }

    public Optional<Boolean> optBool(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (v.type() != GgufValueType.BOOL) {
            throw bad("metadata '" + key + "' must be a boolean, got " + v.type());
        }
        return Optional.of((Boolean) v.value());
    }

    /** An array value; an error naming the key when absent or not an array of {@code elementType}. */
    public GgufArray array(String key, GgufValueType... elementTypes) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            throw bad("missing metadata '" + key + "'");
        }
        if (!(v.value() instanceof GgufArray a)) {
            throw bad("metadata '" + key + "' must be an array, got " + v.type());
        }
        for (GgufValueType t : elementTypes) {
            if (a.elementType() == t) {
                return a;
            }
        }
        throw bad("metadata '" + key + "' is an array of " + a.elementType() + ", expected "
                + List.of(elementTypes));
    }

    public String[] strings(String key) {
        return ((String[]) array(key, GgufValueType.STRING).values()).clone();
    }

    /** A float array (FLOAT32 or FLOAT64) as float32. */
    public float[] floats(String key) {
        double[] d = (double[]) array(key, GgufValueType.FLOAT32, GgufValueType.FLOAT64).values();
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    /** An integer array of any width, as longs. */
    public long[] integers(String key) {
        return ((long[]) array(key, GgufValueType.INT8, GgufValueType.UINT8, GgufValueType.INT16,
                GgufValueType.UINT16, GgufValueType.INT32, GgufValueType.UINT32, GgufValueType.INT64,
                GgufValueType.UINT64).values()).clone();
    }

    // ---------------------------------------------------------------- tensor data

    /**
     * The raw bytes of a whole tensor, mapped read-only (little endian). The tensor must be smaller
     * than 2 GiB; use {@link #readFloats} for larger ones, which maps it in windows.
     */
    public ByteBuffer tensorBytes(GgufTensorInfo t) {
        if (t.byteSize() > Integer.MAX_VALUE) {
            throw bad("tensor '" + t.name() + "' is " + t.byteSize() + " bytes, too large for one buffer");
        }
        return map(dataOffset + t.offset(), t.byteSize(), t.name());
    }

    /**
     * The tensor as float32, dequantised or widened as needed, in GGUF order ({@code dims[0]} fastest).
     * An error naming the tensor when its type cannot be dequantised.
     */
    public float[] readFloats(GgufTensorInfo t) {
        return readFloats(t, WINDOW);
    }

    /** As {@link #readFloats(GgufTensorInfo)}, mapping at most {@code window} bytes (whole blocks) at once. */
    float[] readFloats(GgufTensorInfo t, long window) {
        if (!Dequantizer.supports(t.type())) {
            throw bad("tensor '" + t.name() + "' has type " + t.type() + ", which cannot be loaded (supported: "
                    + Dequantizer.SUPPORTED + ")");
        }
        long n = t.elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw bad("tensor '" + t.name() + "' has " + n + " elements, more than one float32 array can hold");
        }
        float[] out = new float[(int) n];
        long blockBytes = t.type().blockBytes();
        long blocksPerWindow = Math.max(1, window / blockBytes);
        long blocks = t.byteSize() / blockBytes;
        for (long b = 0; b < blocks; b += blocksPerWindow) {
            long count = Math.min(blocksPerWindow, blocks - b);
            ByteBuffer chunk = map(dataOffset + t.offset() + b * blockBytes, count * blockBytes, t.name());
            Dequantizer.dequantize(t.type(), chunk, out, (int) (b * t.type().blockSize()),
                    (int) (count * t.type().blockSize()));
        }
        return out;
    }

    private ByteBuffer map(long position, long size, String tensor) {
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, position, size).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new BadInputException(path + ": cannot map tensor '" + tensor + "' (" + e.getMessage() + ")", e);
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // Read-only: nothing can be lost.
        }
    }

    @Override
    public String toString() {
        return path.toString();
    }

    /** Sequential little-endian reads of the header through a small buffer, with long positions. */
    private static final class HeaderReader {
        private final FileChannel ch;
        private final long size;
        private final Path path;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        /** File position of {@code buf}'s first byte. */
        private long bufStart;

        HeaderReader(FileChannel ch, long size, Path path) {
            this.ch = ch;
            this.size = size;
            this.path = path;
            buf.limit(0);
        }

        long position() {
            return bufStart + buf.position();
        }

        long remaining() {
            return size - position();
        }

        private void need(int n, String what) throws IOException {
            if (buf.remaining() >= n) {
                return;
            }
            if (remaining() < n) {
                throw new BadInputException(path + ": truncated: " + what + " needs " + n + " bytes at offset "
                        + position() + " but the file ends at " + size);
            }
            long pos = position();
            buf.clear();
            bufStart = pos;
            int want = (int) Math.min(buf.capacity(), size - pos);
            buf.limit(want);
            while (buf.hasRemaining()) {
                if (ch.read(buf, bufStart + buf.position()) < 0) {
                    throw new BadInputException(path + ": truncated while reading " + what);
                }
            }
            buf.flip();
        }

        byte u8(String what) throws IOException {
            need(1, what);
            return buf.get();
        }

        short i16(String what) throws IOException {
            need(2, what);
            return buf.getShort();
        }

        int i32(String what) throws IOException {
            need(4, what);
            return buf.getInt();
        }

        long u32(String what) throws IOException {
            return i32(what) & 0xFFFF_FFFFL;
        }

        long u64(String what) throws IOException {
            need(8, what);
            return buf.getLong();
        }

        String string(String what) throws IOException {
            long len = u64("length of " + what);
            if (len < 0 || len > remaining()) {
                throw new BadInputException(path + ": " + what + ": string length " + Long.toUnsignedString(len)
                        + " at offset " + (position() - 8) + " runs past the end of the file");
            }
            if (len > Integer.MAX_VALUE - 8) {
                throw new BadInputException(path + ": " + what + ": string of " + len + " bytes is too long");
            }
            byte[] bytes = new byte[(int) len];
            int done = 0;
            while (done < bytes.length) {
                int chunk = Math.min(bytes.length - done, buf.capacity());
                need(chunk, what);
                buf.get(bytes, done, chunk);
                done += chunk;
            }
            try {
                return StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                throw new BadInputException(path + ": " + what + " is not valid UTF-8");
            }
        }
    }
}
