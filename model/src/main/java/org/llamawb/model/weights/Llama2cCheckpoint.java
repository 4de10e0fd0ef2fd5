package org.llamawb.model.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.llamawb.model.BadInputException;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.RopeScaling;

/**
 * A llama2.c {@code .bin} checkpoint (float32), memory-mapped, under Hugging Face names.
 *
 * <p>Two headers exist (llama2.c's {@code export.py}):
 * <ul>
 *   <li>legacy: 7 int32 {@code dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len}, where a
 *       negative vocab_size means the classifier is stored separately (otherwise it is the embedding);</li>
 *   <li>version 1: uint32 magic {@code 0x616b3432} ("ak42"), int32 version, the same 7 int32, a byte
 *       {@code shared_classifier}, zero padding to 256 bytes.</li>
 * </ul>
 * Version 2 (int8 groups) and later are refused. The file size must equal what the header implies. Tensor
 * order and name mapping live in {@link Llama2cLayout}. The model's other constants are llama2.c's: RoPE
 * theta 10000, RMSNorm eps 1e-5, BOS 1, EOS 2.
 */
public final class Llama2cCheckpoint implements WeightSource {
    /** "ak42" read as a little-endian uint32. */
    static final int MAGIC = 0x616b3432;
    static final int V1_HEADER_BYTES = 256;
    static final int LEGACY_HEADER_BYTES = 7 * Integer.BYTES;
    private static final String NOT_LLAMA2C = " (not a llama2.c checkpoint?)";

    private final MappedFile file;
    private final int version;
    private final LlamaConfig config;
    private final Map<String, Llama2cLayout.Slot> slots;
    private volatile boolean closed;

    private Llama2cCheckpoint(MappedFile file, int version, LlamaConfig config, Map<String, Llama2cLayout.Slot> slots) {
        this.file = file;
        this.version = version;
        this.config = config;
        this.slots = slots;
    }

    /** Opens and checks a llama2.c checkpoint. */
    public static Llama2cCheckpoint open(Path path) {
        MappedFile file = MappedFile.open(path);
        try {
            return parse(file);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /** True when the file starts with the "ak42" magic of versioned llama2.c exports. */
    static boolean hasMagic(ByteBuffer firstBytes) {
        return firstBytes.remaining() >= 4 && firstBytes.getInt(0) == MAGIC;
    }

    private static Llama2cCheckpoint parse(MappedFile file) {
        Path path = file.path();
        long size = file.size();
        if (size < LEGACY_HEADER_BYTES) {
            throw new BadInputException(path + ": " + size + " bytes is too short for a llama2.c checkpoint");
        }
        ByteBuffer head = file.read(0, (int) Math.min(size, V1_HEADER_BYTES));
        int version;
        int paramsAt;
        long headerBytes;
        boolean shared;
        if (hasMagic(head)) {
            version = head.getInt(4);
            if (version != 1) {
                throw new BadInputException(path + ": unsupported llama2.c version " + version + " (supported: legacy, 1)");
            }
            if (size < V1_HEADER_BYTES) {
                throw new BadInputException(path + ": " + size + " bytes is too short for a llama2.c version 1 header ("
                        + V1_HEADER_BYTES + " bytes)");
            }
            paramsAt = 8;
            headerBytes = V1_HEADER_BYTES;
            int flag = head.get(36);
            if (flag != 0 && flag != 1) {
                throw new BadInputException(path + ": llama2.c header: shared_classifier must be 0 or 1, got " + flag);
            }
            shared = flag == 1;
        } else {
            version = 0;
            paramsAt = 0;
            headerBytes = LEGACY_HEADER_BYTES;
            shared = head.getInt(20) > 0; // vocab_size > 0: classifier shared with the embedding
        }
        int[] v = new int[7];
        for (int i = 0; i < 7; i++) {
            v[i] = head.getInt(paramsAt + 4 * i);
        }
        int vocab = version == 0 ? Math.abs(v[5]) : v[5];
        Llama2cLayout.Params p = new Llama2cLayout.Params(v[0], v[1], v[2], v[3], v[4], vocab, v[6], shared);
        String kind = version == 0 ? "legacy" : "version 1";
        checkParams(path, kind, p, v[5]);

        long expected;
        try {
            expected = Llama2cLayout.fileSize(p, version, headerBytes);
        } catch (ArithmeticException e) {
            throw new BadInputException(path + ": llama2.c " + kind + " header " + describe(p) + " implies more than "
                    + Long.MAX_VALUE + " bytes" + NOT_LLAMA2C);
        }
        if (expected != size) {
            throw new BadInputException(path + ": the llama2.c " + kind + " header " + describe(p) + " implies "
                    + expected + " bytes but the file has " + size + " bytes");
        }
        Llama2cLayout layout = Llama2cLayout.of(p, version, headerBytes);
        if (layout.fileSize() != expected) {
            throw new IllegalStateException("llama2.c layout disagrees with its size formula");
        }
        LlamaConfig config;
        try {
            config = new LlamaConfig(p.vocab(), p.dim(), p.hiddenDim(), p.layers(), p.heads(), p.kvHeads(), p.headSize(),
                    10000.0, RopeScaling.NONE, 1e-5, shared, 1, List.of(2), false, false, p.seqLen());
        } catch (BadInputException e) {
            throw new BadInputException(path + ": " + e.getMessage(), e);
        }
        // Names in transformers' order, whatever the file order.
        Map<String, Llama2cLayout.Slot> byName = new LinkedHashMap<>();
        for (Llama2cLayout.Slot s : layout.slots()) {
            byName.put(s.name(), s);
        }
        Map<String, Llama2cLayout.Slot> ordered = new LinkedHashMap<>();
        for (String name : LlamaLayout.expected(config).keySet()) {
            Llama2cLayout.Slot s = byName.remove(name);
            if (s == null) {
                throw new IllegalStateException("llama2.c layout lacks " + name);
            }
            ordered.put(name, s);
        }
        if (!byName.isEmpty()) {
            throw new IllegalStateException("llama2.c layout has extra tensors " + byName.keySet());
        }
        return new Llama2cCheckpoint(file, version, config, Collections.unmodifiableMap(ordered));
    }

    private static void checkParams(Path path, String kind, Llama2cLayout.Params p, int rawVocab) {
        String where = path + ": llama2.c " + kind + " header: ";
        positive(where, "dim", p.dim());
        positive(where, "hidden_dim", p.hiddenDim());
        positive(where, "n_layers", p.layers());
        positive(where, "n_heads", p.heads());
        positive(where, "n_kv_heads", p.kvHeads());
        positive(where, "vocab_size", rawVocab == Integer.MIN_VALUE ? -1 : p.vocab());
        positive(where, "seq_len", p.seqLen());
        if (p.heads() % p.kvHeads() != 0) {
            throw new BadInputException(where + "n_kv_heads (" + p.kvHeads() + ") must divide n_heads (" + p.heads() + ")"
                    + NOT_LLAMA2C);
        }
        if (p.dim() % p.heads() != 0 || p.headSize() % 2 != 0) {
            throw new BadInputException(where + "dim (" + p.dim() + ") must split into n_heads (" + p.heads()
                    + ") heads of even size" + NOT_LLAMA2C);
        }
    }

    private static void positive(String where, String key, int v) {
        if (v <= 0) {
            throw new BadInputException(where + key + " must be > 0, got " + v + NOT_LLAMA2C);
        }
    }

    private static String describe(Llama2cLayout.Params p) {
        return "(dim=" + p.dim() + ", hidden_dim=" + p.hiddenDim() + ", n_layers=" + p.layers() + ", n_heads=" + p.heads()
                + ", n_kv_heads=" + p.kvHeads() + ", vocab_size=" + p.vocab() + ", seq_len=" + p.seqLen()
                + ", shared_classifier=" + p.shared() + ")";
    }

    /** The model shape from the header, with llama2.c's fixed constants. */
    public LlamaConfig config() {
        return config;
    }

    /** 0 for the legacy header, else the header's version (1). */
    public int version() {
        return version;
    }

    @Override
    public Set<String> names() {
        return slots.keySet();
    }

    @Override
    public TensorInfo info(String name) {
        Llama2cLayout.Slot s = slot(name);
        return new TensorInfo(name, StorageType.F32, s.shape());
    }

    @Override
    public NDArray load(String name, NDManager manager) {
        Llama2cLayout.Slot s = slot(name);
        if (closed) {
            throw new IllegalStateException(description() + " is closed");
        }
        NDArray raw = TensorDecoder.decode(file, s.offset(), StorageType.F32, s.shape(), manager);
        if (s.ropeHeads() == 0) {
            return raw;
        }
        try (raw) {
            return RotaryPermutation.interleavedToRotateHalf(raw, s.ropeHeads());
        }
    }

    private Llama2cLayout.Slot slot(String name) {
        Llama2cLayout.Slot s = slots.get(name);
        if (s == null) {
            throw new BadInputException(file.path() + ": no tensor named '" + name + "'");
        }
        return s;
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
}
