package org.llamawb.model.gguf;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.llamawb.model.BadInputException;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.RopeScaling;
import org.llamawb.model.tokenizer.GgufVocabulary;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.weights.TensorInfo;
import org.llamawb.model.weights.WeightSource;

/**
 * Writes a whole LLaMA model as one GGUF file that llama.cpp runs: {@code llama.*} metadata from the
 * {@link LlamaConfig}, the vocabulary, special ids and chat template from the {@link LlamaTokenizer},
 * and every tensor under its llama.cpp name, dimensions reversed, q/k rows permuted back to Meta's
 * interleaved layout. Matrices are written as {@code matrices} (F32, F16 or Q8_0; a matrix whose rows
 * are not a multiple of 32 falls back to F16 for Q8_0, as llama.cpp's converter does), vectors as F32.
 */
public final class LlamaGgufExporter {
    private LlamaGgufExporter() {}

    public static void write(Path out, WeightSource weights, LlamaConfig config, LlamaTokenizer tokenizer,
            GgmlType matrices) throws IOException {
        write(out, weights, config, tokenizer, matrices, out.getFileName().toString().replaceFirst("\\.gguf$", ""));
    }

    public static void write(Path out, WeightSource weights, LlamaConfig config, LlamaTokenizer tokenizer,
            GgmlType matrices, String name) throws IOException {
        if (matrices != GgmlType.F32 && matrices != GgmlType.F16 && matrices != GgmlType.Q8_0) {
            throw new BadInputException("GGUF export: cannot write " + matrices + " (expected F32, F16 or Q8_0)");
        }
        if (tokenizer.vocabSize() != config.vocabSize()) {
            throw new BadInputException("GGUF export: the tokenizer has " + tokenizer.vocabSize()
                    + " tokens but the model's vocab_size is " + config.vocabSize());
        }
        GgufWriter w = new GgufWriter();
        LlamaMetadata.write(config, w, name, matrices);
        GgufVocabulary.write(tokenizer, w);
        if (config.ropeScaling().type() == RopeScaling.Type.LLAMA3) {
            float[] factors = LlamaMetadata.llama3Factors(config);
            w.addTensor("rope_freqs.weight", new long[] {factors.length}, GgmlType.F32, () -> factors);
        }
        Set<String> names = weights.names();
        for (String hf : ordered(names)) {
            if (hf.equals("lm_head.weight") && config.tieWordEmbeddings()) {
                continue; // llama.cpp reuses token_embd when output.weight is absent
            }
            String gguf = LlamaTensorNames.toGguf(hf).orElseThrow(() -> new BadInputException(weights.description()
                    + ": tensor '" + hf + "' has no GGUF name (not a LLaMA tensor)"));
            TensorInfo info = weights.info(hf);
            long[] shape = info.shape();
            long[] dims = new long[shape.length];
            for (int i = 0; i < shape.length; i++) {
                dims[i] = shape[shape.length - 1 - i];
            }
            GgmlType type = shape.length == 1 ? GgmlType.F32
                    : matrices == GgmlType.Q8_0 && dims[0] % 32 != 0 ? GgmlType.F16 : matrices;
            w.addTensor(gguf, dims, type, values(weights, hf, config, shape));
        }
        if (!config.tieWordEmbeddings() && !names.contains("lm_head.weight")) {
            throw new BadInputException(weights.description() + ": no lm_head.weight and tie_word_embeddings is false");
        }
        w.write(out);
    }

    /** Embedding first, then layer by layer, then the final norm and head, as llama.cpp orders them. */
    private static List<String> ordered(Set<String> names) {
        List<String> l = new ArrayList<>(names);
        l.sort(Comparator.comparingLong(LlamaGgufExporter::rank).thenComparing(Comparator.naturalOrder()));
        return l;
    }

    private static long rank(String hf) {
        if (hf.startsWith("model.embed_tokens")) {
            return -1;
        }
        if (hf.startsWith("model.layers.")) {
            String n = hf.substring("model.layers.".length());
            int dot = n.indexOf('.');
            try {
                return Long.parseLong(n.substring(0, dot));
            } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
                return Long.MAX_VALUE - 1;
            }
        }
        return Long.MAX_VALUE;
    }

    private static Supplier<float[]> values(WeightSource weights, String hf, LlamaConfig c, long[] shape) {
        return () -> {
            float[] v = floats(weights, hf);
            int rowLength = shape.length == 1 ? 1 : (int) (v.length / shape[0]);
            if (LlamaTensorNames.isQuery(hf)) {
                return QkPermutation.toGguf(v, c.numAttentionHeads(), rowLength);
            }
            if (LlamaTensorNames.isKey(hf)) {
                return QkPermutation.toGguf(v, c.numKeyValueHeads(), rowLength);
            }
            return v;
        };
    }

    private static float[] floats(WeightSource weights, String hf) {
        if (weights instanceof GgufWeights g) {
            return g.floats(hf); // no engine needed
        }
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = weights.load(hf, m);
            return a.toFloatArray();
        }
    }
}
