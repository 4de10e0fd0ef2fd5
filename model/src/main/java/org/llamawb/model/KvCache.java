package org.llamawb.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Keys and values of past positions for incremental decoding, preallocated per layer as
 * {@code [B, Hkv, capacity, D]} and filled in place (no copy of the past at each step).
 */
public final class KvCache implements AutoCloseable {
    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;
    private final int capacity;
    private int length;

    public KvCache(LlamaConfig config, int batch, int capacity, NDManager parent) {
        this.manager = parent.newSubManager();
        this.capacity = capacity;
        int layers = config.numHiddenLayers();
        keys = new NDArray[layers];
        values = new NDArray[layers];
        Shape shape = new Shape(batch, config.numKeyValueHeads(), capacity, config.headDim());
        for (int i = 0; i < layers; i++) {
            keys[i] = manager.zeros(shape, DataType.FLOAT32);
            values[i] = manager.zeros(shape, DataType.FLOAT32);
            NDScope.unregister(keys[i], values[i]);
        }
    }

    /** Positions already cached. */
    public int length() {
        return length;
    }

    public int capacity() {
        return capacity;
    }

    /**
     * Writes this step's {@code k, v: [B, Hkv, t, D]} for layer {@code layer} after the cached ones and
     * returns views of everything cached so far, {@code [B, Hkv, length + t, D]}.
     */
    NDArray[] append(int layer, NDArray k, NDArray v) {
        int t = Math.toIntExact(k.getShape().get(2));
        if (length + t > capacity) {
            throw new IllegalStateException("KV cache full: " + (length + t) + " > " + capacity + " positions");
        }
        // index objects built directly: parsing index strings costs more than the copy at one token per step
        NDIndex slot = new NDIndex().addAllDim().addAllDim().addSliceDim(length, length + t);
        keys[layer].set(slot, k);
        values[layer].set(slot, v);
        NDIndex upTo = new NDIndex().addAllDim().addAllDim().addSliceDim(0, length + t);
        return new NDArray[] {keys[layer].get(upTo), values[layer].get(upTo)};
    }

    /** Called once per forward pass after every layer has appended {@code t} positions. */
    void advance(int t) {
        length += t;
    }

    /**
     * Keeps the first {@code length} positions and forgets the rest, e.g. when a chat's next prompt shares
     * only that prefix with what is cached; later appends overwrite the forgotten slots.
     */
    public void truncate(int length) {
        if (length < 0 || length > this.length) {
            throw new IllegalArgumentException("cannot keep " + length + " of " + this.length + " cached positions");
        }
        this.length = length;
    }

    /** Forgets everything (the buffers are reused). */
    public void reset() {
        length = 0;
    }

    @Override
    public void close() {
        manager.close();
    }
}
