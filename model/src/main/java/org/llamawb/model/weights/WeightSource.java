package org.llamawb.model.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Set;

/**
 * Named tensors of a checkpoint, already under their Hugging Face names, whatever the file format.
 *
 * <p>Implementations map a file (safetensors, sharded safetensors, llama2.c, GGUF) lazily: nothing is
 * read until {@link #load} is called. Keep the source open as long as any array it returned is in
 * use (arrays may point into memory-mapped files).
 */
public interface WeightSource extends AutoCloseable {

    /** Every tensor name in the checkpoint. */
    Set<String> names();

    /** Whether the checkpoint holds a tensor of this name. */
    default boolean contains(String name) {
        return names().contains(name);
    }

    /** Type and shape of a tensor, without reading it; an error naming the tensor when absent. */
    TensorInfo info(String name);

    /** The tensor as float32 in {@code manager}, widened from F16/BF16 or dequantised as needed. */
    NDArray load(String name, NDManager manager);

    /** Where the weights come from, for messages (a path). */
    String description();

    @Override
    void close();
}
