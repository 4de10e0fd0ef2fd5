package org.llamawb.model.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import org.llamawb.model.BadInputException;

/**
 * Turns the little-endian bytes of one stored tensor into a float32 {@link NDArray}.
 *
 * <ul>
 *   <li>F32: the mapped bytes are handed to libtorch as they are (no copy) when aligned;</li>
 *   <li>F16: created as float16 on the mapping, converted by libtorch (the same rounding as torch);</li>
 *   <li>BF16: widened in Java ({@code bits << 16}), because DJL aborts the JVM on bfloat16 arrays.</li>
 * </ul>
 * A tensor whose float32 form exceeds {@code chunkBytes} (1 GiB by default; Java buffers stop at 2 GiB)
 * is decoded in flat pieces that are concatenated, so a single tensor may be larger than 2 GiB.
 */
final class TensorDecoder {
    static final long DEFAULT_CHUNK_BYTES = 1L << 30;

    private TensorDecoder() {}

    static NDArray decode(MappedFile file, long offset, StorageType dtype, long[] shape, NDManager manager) {
        return decode(file, offset, dtype, shape, manager, DEFAULT_CHUNK_BYTES);
    }

    static NDArray decode(
            MappedFile file, long offset, StorageType dtype, long[] shape, NDManager manager, long chunkBytes) {
        if (dtype == StorageType.QUANTIZED) {
            throw new IllegalArgumentException("quantised blocks are decoded by the GGUF reader");
        }
        Shape s = new Shape(shape);
        long count = s.size();
        if (count == 0) {
            return manager.zeros(s, DataType.FLOAT32);
        }
        long perChunk = Math.max(1, chunkBytes / Float.BYTES);
        if (count <= perChunk) {
            // Created with its final shape: a reshaped view would not keep the mapping reachable.
            return decodeFlat(file, offset, dtype, (int) count, s, manager);
        }
        NDList pieces = new NDList();
        try {
            for (long start = 0; start < count; start += perChunk) {
                int n = (int) Math.min(perChunk, count - start);
                pieces.add(decodeFlat(file, offset + start * dtype.bytes(), dtype, n, new Shape(n), manager));
            }
            try (NDArray flat = NDArrays.concat(pieces)) { // a copy owned by libtorch
                return flat.reshape(s);
            }
        } finally {
            pieces.close();
        }
    }

    /** {@code count} consecutive values at {@code offset} as a float32 array of shape {@code flat}. */
    private static NDArray decodeFlat(
            MappedFile file, long offset, StorageType dtype, int count, Shape flat, NDManager manager) {
        int bytes = Math.multiplyExact(count, dtype.bytes());
        boolean aligned = offset % dtype.bytes() == 0 && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
        switch (dtype) {
            case F32 -> {
                ByteBuffer data = file.map(offset, bytes);
                return manager.create(aligned ? data.order(ByteOrder.nativeOrder()) : toNative(data.asFloatBuffer(), count),
                        flat, DataType.FLOAT32);
            }
            case F16 -> {
                ByteBuffer data = file.map(offset, bytes);
                if (!aligned) {
                    ByteBuffer copy = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
                    copy.asShortBuffer().put(data.asShortBuffer());
                    data = copy;
                }
                try (NDArray half = manager.create(data.order(ByteOrder.nativeOrder()), flat, DataType.FLOAT16)) {
                    return half.toType(DataType.FLOAT32, true);
                }
            }
            case BF16 -> {
                ShortBuffer in = file.map(offset, bytes).asShortBuffer();
                ByteBuffer out = ByteBuffer.allocateDirect(Math.multiplyExact(count, Float.BYTES))
                        .order(ByteOrder.nativeOrder());
                FloatBuffer f = out.asFloatBuffer();
                for (int i = 0; i < count; i++) {
                    f.put(i, Float.intBitsToFloat((in.get(i) & 0xFFFF) << 16));
                }
                return manager.create(out, flat, DataType.FLOAT32);
            }
            default -> throw new BadInputException(file.path() + ": cannot decode " + dtype);
        }
    }

    private static ByteBuffer toNative(FloatBuffer littleEndian, int count) {
        ByteBuffer out = ByteBuffer.allocateDirect(count * Float.BYTES).order(ByteOrder.nativeOrder());
        out.asFloatBuffer().put(littleEndian);
        return out;
    }
}
