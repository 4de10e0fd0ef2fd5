package org.llamawb.model.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.llamawb.model.BadInputException;

/**
 * Tensors held in memory (a loaded, trained or merged model) seen as a {@link WeightSource}, so they can
 * be written by the same exporters that convert files. {@link #load} returns copies.
 */
public final class ArrayWeights implements WeightSource {
    private final Map<String, NDArray> tensors;
    private final String description;

    public ArrayWeights(Map<String, NDArray> tensors, String description) {
        this.tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        this.description = description;
    }

    @Override
    public Set<String> names() {
        return tensors.keySet();
    }

    @Override
    public TensorInfo info(String name) {
        return new TensorInfo(name, StorageType.F32, get(name).getShape().getShape());
    }

    @Override
    public NDArray load(String name, NDManager manager) {
        NDArray a = get(name);
        return manager.create(a.toFloatArray(), a.getShape());
    }

    private NDArray get(String name) {
        NDArray a = tensors.get(name);
        if (a == null) {
            throw new BadInputException(description + ": no tensor '" + name + "'");
        }
        return a;
    }

    @Override
    public String description() {
        return description;
    }

    /** The arrays belong to their owner; nothing to release here. */
    @Override
    public void close() {}
}
