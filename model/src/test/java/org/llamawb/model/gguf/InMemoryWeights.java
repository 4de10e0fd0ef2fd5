package org.llamawb.model.gguf;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.llamawb.model.LlamaConfig;
import org.llamawb.model.weights.StorageType;
import org.llamawb.model.weights.TensorInfo;
import org.llamawb.model.weights.WeightSource;

/** Random float32 weights of a Llama shape under Hugging Face names, for export tests. */
final class InMemoryWeights implements WeightSource {
    private final Map<String, float[]> values = new LinkedHashMap<>();
    private final Map<String, long[]> shapes = new LinkedHashMap<>();

    static InMemoryWeights random(LlamaConfig c, long seed) {
        InMemoryWeights w = new InMemoryWeights();
        Random r = new Random(seed);
        long d = c.hiddenSize();
        long q = (long) c.numAttentionHeads() * c.headDim();
        long kv = (long) c.numKeyValueHeads() * c.headDim();
        long ff = c.intermediateSize();
        w.add("model.embed_tokens.weight", r, c.vocabSize(), d);
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String p = "model.layers." + l + ".";
            w.add(p + "input_layernorm.weight", r, d);
            w.add(p + "self_attn.q_proj.weight", r, q, d);
            w.add(p + "self_attn.k_proj.weight", r, kv, d);
            w.add(p + "self_attn.v_proj.weight", r, kv, d);
            w.add(p + "self_attn.o_proj.weight", r, d, q);
            w.add(p + "post_attention_layernorm.weight", r, d);
            w.add(p + "mlp.gate_proj.weight", r, ff, d);
            w.add(p + "mlp.up_proj.weight", r, ff, d);
            w.add(p + "mlp.down_proj.weight", r, d, ff);
        }
        w.add("model.norm.weight", r, d);
        if (!c.tieWordEmbeddings()) {
            w.add("lm_head.weight", r, c.vocabSize(), d);
        }
        return w;
    }

    private void add(String name, Random r, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextGaussian() * 0.1);
        }
        values.put(name, v);
        shapes.put(name, shape);
    }

    float[] values(String name) {
        return values.get(name);
    }

    @Override
    public Set<String> names() {
        return values.keySet();
    }

    @Override
    public TensorInfo info(String name) {
        return new TensorInfo(name, StorageType.F32, shapes.get(name));
    }

    @Override
    public NDArray load(String name, NDManager manager) {
        return manager.create(values.get(name), new Shape(shapes.get(name)));
    }

    @Override
    public String description() {
        return "in-memory test weights";
    }

    @Override
    public void close() {}
}
