package org.llamawb.model.gguf;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.llamawb.model.BadInputException;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.quant.FrozenWeight;
import org.llamawb.model.quant.GgufBlockWeight;
import org.llamawb.model.quant.HalfWeight;
import org.llamawb.model.weights.StorageType;
import org.llamawb.model.weights.TensorInfo;
import org.llamawb.model.weights.WeightSource;

/**
 * The tensors of a LLaMA GGUF file under Hugging Face names, as float32.
 *
 * <p>Names are mapped by {@link LlamaTensorNames}, dimensions reversed (GGUF lists the fastest first),
 * query/key rows put back into Hugging Face's rotate-half order ({@link QkPermutation}, with the head
 * count for q and the key/value head count for k), and F16/BF16/quantised data widened in Java.
 * A tensor that is not part of a LLaMA model is an error naming it.
 */
public final class GgufWeights implements WeightSource {
    private static final String ROPE_FREQS = "rope_freqs.weight";

    private final GgufFile file;
    /** Hugging Face name to GGUF tensor. */
    private final Map<String, GgufTensorInfo> byHf;
    private final LlamaConfig config;

    private GgufWeights(GgufFile file) {
        this.file = file;
        Map<String, GgufTensorInfo> m = new LinkedHashMap<>();
        for (GgufTensorInfo t : file.tensors()) {
            if (t.name().equals(ROPE_FREQS)) {
                continue; // Llama 3 rope scaling, folded into the config below
            }
            String hf = LlamaTensorNames.toHf(t.name()).orElseThrow(() -> new BadInputException(file.path()
                    + ": tensor '" + t.name() + "' is not a LLaMA tensor (expected token_embd, output_norm, output"
                    + " or blk.N.{attn_norm,attn_q,attn_k,attn_v,attn_output,ffn_norm,ffn_gate,ffn_up,ffn_down})"));
            m.put(hf, t);
        }
        this.byHf = Collections.unmodifiableMap(m);
        float[] ropeFreqs = file.tensor(ROPE_FREQS).map(file::readFloats).orElse(null);
        this.config = LlamaMetadata.read(file, file.tensor("output.weight").isEmpty(), ropeFreqs);
        for (var e : byHf.entrySet()) {
            checkShape(e.getKey(), e.getValue().shape());
        }
    }

    /** Opens a GGUF model file; its metadata must describe a LLaMA model. */
    public static GgufWeights open(Path path) {
        GgufFile f = GgufFile.open(path);
        try {
            return new GgufWeights(f);
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
    }

    /** The underlying file, for metadata (e.g. the vocabulary). */
    public GgufFile file() {
        return file;
    }

    /** The model shape from {@code llama.*} metadata; tied embeddings when there is no {@code output.weight}. */
    public LlamaConfig config() {
        return config;
    }

    private void checkShape(String hf, long[] shape) {
        long d = config.hiddenSize();
        long q = (long) config.numAttentionHeads() * config.headDim();
        long kv = (long) config.numKeyValueHeads() * config.headDim();
        long ff = config.intermediateSize();
        long[] expected;
        if (hf.endsWith("embed_tokens.weight") || hf.equals("lm_head.weight")) {
            expected = new long[] {config.vocabSize(), d};
        } else if (hf.endsWith("norm.weight")) {
            expected = new long[] {d};
        } else if (hf.endsWith("q_proj.weight")) {
            expected = new long[] {q, d};
        } else if (hf.endsWith("k_proj.weight") || hf.endsWith("v_proj.weight")) {
            expected = new long[] {kv, d};
        } else if (hf.endsWith("o_proj.weight")) {
            expected = new long[] {d, q};
        } else if (hf.endsWith("gate_proj.weight") || hf.endsWith("up_proj.weight")) {
            expected = new long[] {ff, d};
        } else if (hf.endsWith("down_proj.weight")) {
            expected = new long[] {d, ff};
        } else {
            return; // biases: checked by whoever uses them
        }
        if (!java.util.Arrays.equals(expected, shape)) {
            throw new BadInputException(file.path() + ": tensor '" + byHf.get(hf).name() + "' (" + hf + ") has shape "
                    + java.util.Arrays.toString(shape) + ", the metadata implies " + java.util.Arrays.toString(expected));
        }
    }

    @Override
    public Set<String> names() {
        return byHf.keySet();
    }

    private GgufTensorInfo gguf(String name) {
        GgufTensorInfo t = byHf.get(name);
        if (t == null) {
            throw new BadInputException(file.path() + ": no tensor '" + name + "'"
                    + LlamaTensorNames.toGguf(name).map(g -> " (GGUF name '" + g + "')").orElse(""));
        }
        return t;
    }

    @Override
    public TensorInfo info(String name) {
        GgufTensorInfo t = gguf(name);
        StorageType st = switch (t.type()) {
            case F32 -> StorageType.F32;
            case F16 -> StorageType.F16;
            case BF16 -> StorageType.BF16;
            default -> StorageType.QUANTIZED;
        };
        return new TensorInfo(name, st, t.shape());
    }

    /** The GGUF element type of a tensor (e.g. Q4_K), for inspection. */
    public GgmlType ggmlType(String name) {
        return gguf(name).type();
    }

    /** The tensor as float32 values in Hugging Face layout (row-major over {@link #info}'s shape). */
    public float[] floats(String name) {
        GgufTensorInfo t = gguf(name);
        float[] v = file.readFloats(t);
        long[] shape = t.shape();
        int rowLength = shape.length == 1 ? 1 : (int) (v.length / shape[0]);
        if (LlamaTensorNames.isQuery(name)) {
            return QkPermutation.toHf(v, config.numAttentionHeads(), rowLength);
        }
        if (LlamaTensorNames.isKey(name)) {
            return QkPermutation.toHf(v, config.numKeyValueHeads(), rowLength);
        }
        return v;
    }

    /**
     * The tensor as the file stores it, kept compact in {@code manager} ({@code model.quantize: keep}): Q8_0, Q4_0
     * and Q4_1 blocks as {@link GgufBlockWeight} (whose widening equals {@link #load}'s values bit for bit), F16 and
     * BF16 as {@link HalfWeight}; null for other types (F32, k-quants), which the caller loads as float32. Query and
     * key rows are put in Hugging Face order as {@link #floats} puts them: whole rows, so whole blocks, move.
     */
    public FrozenWeight kept(String name, NDManager manager) {
        GgufTensorInfo t = gguf(name);
        GgufBlockWeight.Format blocks = switch (t.type()) {
            case Q8_0 -> GgufBlockWeight.Format.Q8_0;
            case Q4_0 -> GgufBlockWeight.Format.Q4_0;
            case Q4_1 -> GgufBlockWeight.Format.Q4_1;
            default -> null;
        };
        long[] shape = t.shape(); // [out, in]
        if (blocks == null) {
            HalfWeight.Format half = switch (t.type()) {
                case F16 -> HalfWeight.Format.FP16;
                case BF16 -> HalfWeight.Format.BF16;
                default -> null;
            };
            if (half == null || shape.length != 2) {
                return null;
            }
            try (NDScope scope = new NDScope()) {
                return HalfWeight.of(half, load(name, manager), manager); // float16/bfloat16 values round to themselves
            }
        }
        ByteBuffer raw = file.tensorBytes(t);
        byte[] rows = new byte[Math.toIntExact(t.byteSize())];
        raw.get(0, rows);
        int rowBytes = Math.toIntExact(shape[1] / t.type().blockSize() * t.type().blockBytes());
        if (LlamaTensorNames.isQuery(name)) {
            rows = QkPermutation.toHf(rows, config.numAttentionHeads(), rowBytes);
        } else if (LlamaTensorNames.isKey(name)) {
            rows = QkPermutation.toHf(rows, config.numKeyValueHeads(), rowBytes);
        }
        return GgufBlockWeight.of(blocks, ByteBuffer.wrap(rows), new Shape(shape), manager);
    }

    @Override
    public NDArray load(String name, NDManager manager) {
        float[] v = floats(name);
        return manager.create(v, new Shape(gguf(name).shape()));
    }

    @Override
    public String description() {
        return file.path().toString();
    }

    @Override
    public void close() {
        file.close();
    }
}
