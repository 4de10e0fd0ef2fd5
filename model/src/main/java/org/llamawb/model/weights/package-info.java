/**
 * Checkpoint formats behind one interface, {@link org.llamawb.model.weights.WeightSource}: named float32
 * tensors under Hugging Face names, read lazily from memory-mapped files.
 *
 * <ul>
 *   <li>{@link org.llamawb.model.weights.Checkpoint#open} recognises what the user named (a Hugging Face
 *       directory, a llama2.c {@code .bin}; GGUF to come), binds the config and checks every tensor
 *       against {@link org.llamawb.model.weights.LlamaLayout}.</li>
 *   <li>{@link org.llamawb.model.weights.Safetensors} (one file) and
 *       {@link org.llamawb.model.weights.ShardedSafetensors} (an index over shards) read F32 zero-copy,
 *       F16 through libtorch and BF16 widened in Java; {@link org.llamawb.model.weights.SafetensorsWriter}
 *       writes files and shards byte for byte as the Python libraries do.</li>
 *   <li>{@link org.llamawb.model.weights.Llama2cCheckpoint} reads llama2.c exports; its layout and the
 *       q/k row permutation ({@link org.llamawb.model.weights.RotaryPermutation}) to Hugging Face's
 *       rotate-half order live in one class, {@code Llama2cLayout}.</li>
 * </ul>
 * Every value read from a file is bounds-checked before anything is allocated or mapped: a bad file is a
 * one-line {@link org.llamawb.model.BadInputException} naming the file and tensor.
 */
package org.llamawb.model.weights;
