package org.llamawb.model.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import org.llamawb.model.gguf.GgufValue.GgufArray;

/**
 * Writes a GGUF v3 file: metadata in insertion order, then tensors in F32, F16 or Q8_0 (quantised here
 * exactly as ggml does), each aligned to {@code general.alignment} (32 unless set).
 *
 * <p>Tensor data is supplied lazily and encoded one tensor at a time, so a model larger than memory
 * can be written. The file appears under its name only once complete (written beside it, then moved).
 */
public final class GgufWriter {
    private static final int VERSION = 3;

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final Map<String, Pending> tensors = new LinkedHashMap<>();

    /** A tensor to write: dims in GGUF order (fastest first) and where its float32 values come from. */
    private record Pending(String name, long[] dims, GgmlType type, Supplier<float[]> floats, byte[] raw) {
        long elements() {
            long n = 1;
            for (long d : dims) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    public GgufWriter put(String key, GgufValue value) {
        if (key.isEmpty()) {
            throw new IllegalArgumentException("empty metadata key");
        }
        metadata.put(key, value);
        return this;
    }

    public GgufWriter putString(String key, String v) {
        return put(key, GgufValue.string(v));
    }

    public GgufWriter putUint32(String key, long v) {
        return put(key, GgufValue.uint32(v));
    }

    public GgufWriter putInt32(String key, int v) {
        return put(key, GgufValue.int32(v));
    }

    public GgufWriter putFloat32(String key, float v) {
        return put(key, GgufValue.float32(v));
    }

    public GgufWriter putBool(String key, boolean v) {
        return put(key, GgufValue.bool(v));
    }

    public GgufWriter putStrings(String key, String[] v) {
        return put(key, GgufValue.array(GgufArray.ofStrings(v)));
    }

    public GgufWriter putFloat32s(String key, float[] v) {
        return put(key, GgufValue.array(GgufArray.ofFloat32(v)));
    }

    public GgufWriter putInt32s(String key, int[] v) {
        return put(key, GgufValue.array(GgufArray.ofInt32(v)));
    }

    /**
     * Adds a tensor whose float32 values (GGUF order, {@code dims[0]} fastest) are produced when the file
     * is written, and encoded as {@code type} (F32, F16 or Q8_0; Q8_0 needs {@code dims[0] % 32 == 0}).
     */
    public GgufWriter addTensor(String name, long[] dims, GgmlType type, Supplier<float[]> values) {
        if (type != GgmlType.F32 && type != GgmlType.F16 && type != GgmlType.Q8_0) {
            throw new IllegalArgumentException("tensor '" + name + "': cannot write " + type
                    + " (F32, F16 and Q8_0 are written)");
        }
        return add(new Pending(name, checkDims(name, dims, type), type, values, null));
    }

    /** Adds a tensor already encoded as {@code type} (any ggml type), e.g. copied from another GGUF file. */
    public GgufWriter addRawTensor(String name, long[] dims, GgmlType type, byte[] bytes) {
        Pending p = new Pending(name, checkDims(name, dims, type), type, null, bytes.clone());
        if (type.byteSize(p.elements()) != bytes.length) {
            throw new IllegalArgumentException("tensor '" + name + "': " + bytes.length + " bytes given, "
                    + type + " " + Arrays.toString(dims) + " needs " + type.byteSize(p.elements()));
        }
        return add(p);
    }

    private GgufWriter add(Pending p) {
        if (tensors.putIfAbsent(p.name(), p) != null) {
            throw new IllegalArgumentException("tensor '" + p.name() + "' added twice");
        }
        return this;
    }

    private static long[] checkDims(String name, long[] dims, GgmlType type) {
        if (dims.length < 1 || dims.length > 4) {
            throw new IllegalArgumentException("tensor '" + name + "': 1 to 4 dimensions, got " + dims.length);
        }
        for (long d : dims) {
            if (d <= 0) {
                throw new IllegalArgumentException("tensor '" + name + "': dimension " + d + " must be > 0");
            }
        }
        if (dims[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor '" + name + "': row length " + dims[0]
                    + " is not a multiple of the " + type + " block size " + type.blockSize());
        }
        return dims.clone();
    }

    /** The alignment the file will use. */
    public long alignment() {
        GgufValue a = metadata.get("general.alignment");
        return a == null ? 32 : (Long) a.value();
    }

    /** Writes the file; it replaces {@code path} only once complete. */
    public void write(Path path) throws IOException {
        long alignment = alignment();
        if (alignment <= 0 || Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("general.alignment must be a power of two, got " + alignment);
        }
        Path dir = path.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        // Created with the default permissions (0644 under the usual umask), as every other output:
        // Files.createTempFile would make the finished file private to the owner.
        Path tmp = dir.resolve("." + path.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong())
                + ".partial");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            Out out = new Out(ch);
            out.u32(0x46554747); // "GGUF"
            out.u32(VERSION);
            out.u64(tensors.size());
            out.u64(metadata.size());
            for (var e : metadata.entrySet()) {
                out.string(e.getKey());
                out.u32(e.getValue().type().id());
                value(out, e.getValue().type(), e.getValue().value());
            }
            List<Long> offsets = new ArrayList<>();
            long offset = 0;
            for (Pending t : tensors.values()) {
                out.string(t.name());
                out.u32(t.dims().length);
                for (long d : t.dims()) {
                    out.u64(d);
                }
                out.u32(t.type().id());
                out.u64(offset);
                offsets.add(offset);
                offset = align(offset + t.type().byteSize(t.elements()), alignment);
            }
            out.pad(alignment);
            for (Pending t : tensors.values()) {
                if (t.raw() != null) {
                    out.bytes(t.raw());
                } else {
                    float[] v = t.floats().get();
                    if (v.length != t.elements()) {
                        throw new IllegalStateException("tensor '" + t.name() + "': " + v.length
                                + " values supplied, dims " + Arrays.toString(t.dims()) + " need " + t.elements());
                    }
                    encode(out, t.type(), v);
                }
                out.pad(alignment);
            }
            out.flush();
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void encode(Out out, GgmlType type, float[] v) throws IOException {
        // Encode in chunks of whole blocks so one buffer never nears 2 GiB.
        int perChunk = (1 << 20) / type.blockSize() * type.blockSize();
        for (int start = 0; start < v.length; start += perChunk) {
            int n = Math.min(perChunk, v.length - start);
            ByteBuffer b = ByteBuffer.allocate((int) type.byteSize(n)).order(ByteOrder.LITTLE_ENDIAN);
            Quantizer.quantize(type, v, start, n, b);
            out.bytes(b.array());
        }
    }

    private static void value(Out out, GgufValueType type, Object v) throws IOException {
        switch (type) {
            case UINT8, INT8 -> out.u8((int) (long) (Long) v);
            case UINT16, INT16 -> out.u16((int) (long) (Long) v);
            case UINT32, INT32 -> out.u32((int) (long) (Long) v);
            case UINT64, INT64 -> out.u64((Long) v);
            case FLOAT32 -> out.u32(Float.floatToRawIntBits((float) (double) (Double) v));
            case FLOAT64 -> out.u64(Double.doubleToRawLongBits((Double) v));
            case BOOL -> out.u8((Boolean) v ? 1 : 0);
            case STRING -> out.string((String) v);
            case ARRAY -> {
                GgufArray a = (GgufArray) v;
                out.u32(a.elementType().id());
                out.u64(a.length());
                for (int i = 0; i < a.length(); i++) {
                    value(out, a.elementType(), element(a, i));
                }
            }
        }
    }

    private static Object element(GgufArray a, int i) {
        Object vs = a.values();
        if (vs instanceof long[] l) {
            return l[i];
        }
        if (vs instanceof double[] d) {
            return d[i];
        }
        if (vs instanceof boolean[] b) {
            return b[i];
        }
        return ((Object[]) vs)[i];
    }

    private static long align(long x, long a) {
        return (x + a - 1) / a * a;
    }

    /** Little-endian buffered output with a running position. */
    private static final class Out {
        private final FileChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        private long written;

        Out(FileChannel ch) {
            this.ch = ch;
        }

        private void room(int n) throws IOException {
            if (buf.remaining() < n) {
                flush();
            }
        }

        void flush() throws IOException {
            written += buf.position();
            buf.flip();
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            buf.clear();
        }

        long position() {
            return written + buf.position();
        }

        void u8(int v) throws IOException {
            room(1);
            buf.put((byte) v);
        }

        void u16(int v) throws IOException {
            room(2);
            buf.putShort((short) v);
        }

        void u32(int v) throws IOException {
            room(4);
            buf.putInt(v);
        }

        void u64(long v) throws IOException {
            room(8);
            buf.putLong(v);
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes(b);
        }

        void bytes(byte[] b) throws IOException {
            int done = 0;
            while (done < b.length) {
                room(1);
                int n = Math.min(buf.remaining(), b.length - done);
                buf.put(b, done, n);
                done += n;
            }
        }

        void pad(long alignment) throws IOException {
            long p = position();
            long target = align(p, alignment);
            for (long i = p; i < target; i++) {
                u8(0);
            }
        }
    }
}
