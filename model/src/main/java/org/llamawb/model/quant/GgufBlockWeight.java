package org.llamawb.model.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A frozen projection weight {@code [out, in]} kept in the ggml block format a GGUF file stores it in
 * ({@code model.quantize: keep}): per block of 32 values along a row, 8- or 4-bit codes and a float16 scale (and
 * for Q4_1 a float16 minimum), widened to float32 on each use. The widening computes what the up-front
 * {@code gguf.Dequantizer} computes, product by product in float32 (each code converted exactly, one rounding per
 * product, the minimum added in a separate rounding), so the values are the same bits:
 * <ul>
 *   <li>{@code Q8_0}: {@code x = q · d}, {@code q} int8 (34 bytes per 32 values);</li>
 *   <li>{@code Q4_0}: {@code x = (q − 8) · d}, {@code q} 4-bit (18 bytes per 32 values);</li>
 *   <li>{@code Q4_1}: {@code x = q · d + m}, {@code q} 4-bit (20 bytes per 32 values).</li>
 * </ul>
 */
public final class GgufBlockWeight implements FrozenWeight {
    /** Values per block in every format here. */
    public static final int BLOCK = 32;

    /** The ggml block formats kept as they are stored. */
    public enum Format {
        Q8_0(34), Q4_0(18), Q4_1(20);

        private final int blockBytes;

        Format(int blockBytes) {
            this.blockBytes = blockBytes;
        }

        /** Bytes of one block in the file. */
        public int blockBytes() {
            return blockBytes;
        }
    }

    private final Format format;
    private final Shape shape; // [out, in]
    private final NDArray codes; // Q8_0: int8 [out, in/32, 32]; Q4: uint8 [out, in/32, 16], two values per byte in order
    private final NDArray scales; // float16 [out, in/32, 1]: d
    private final NDArray mins; // Q4_1: float16 [out, in/32, 1]: m; else null
    private final NDArray pairs; // Q4: float32 [256, 2], the two (offset) codes a byte holds; Q8_0: null

    private GgufBlockWeight(Format format, Shape shape, NDArray codes, NDArray scales, NDArray mins, NDArray pairs) {
        this.format = format;
        this.shape = shape;
        this.codes = codes;
        this.scales = scales;
        this.mins = mins;
        this.pairs = pairs;
        // as long-lived as the model, whatever scope read them
        NDScope.unregister(codes, scales);
        if (mins != null) {
            NDScope.unregister(mins);
        }
        if (pairs != null) {
            NDScope.unregister(pairs);
        }
    }

    /**
     * Keeps the blocks of a weight {@code shape = [out, in]} ({@code in} a multiple of 32), row after row as ggml
     * lays them out ({@code blocks} little endian, read from its position 0), in {@code manager}'s memory.
     */
    public static GgufBlockWeight of(Format format, ByteBuffer blocks, Shape shape, NDManager manager) {
        if (shape.dimension() != 2 || shape.get(1) % BLOCK != 0) {
            throw new IllegalArgumentException(format + ": shape " + shape + " is not rows of whole blocks of " + BLOCK);
        }
        long nb = shape.size() / BLOCK;
        if (blocks.capacity() < nb * format.blockBytes()) {
            throw new IllegalArgumentException(format + ": " + blocks.capacity() + " bytes for " + nb + " blocks of "
                    + format.blockBytes());
        }
        int n = Math.toIntExact(nb);
        ByteBuffer src = blocks.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        Shape blockShape = new Shape(shape.get(0), shape.get(1) / BLOCK); // [out, in/32]
        ByteBuffer d = halves(n);
        ByteBuffer m = format == Format.Q4_1 ? halves(n) : null;
        int codeBytes = format == Format.Q8_0 ? BLOCK : BLOCK / 2;
        ByteBuffer q = ByteBuffer.allocateDirect(n * codeBytes);
        for (int b = 0; b < n; b++) {
            int base = b * format.blockBytes();
            d.putShort(src.getShort(base));
            int first = base + 2; // the first code byte
            if (m != null) {
                m.putShort(src.getShort(base + 2));
                first += 2;
            }
            if (format == Format.Q8_0) {
                for (int j = 0; j < BLOCK; j++) {
                    q.put(src.get(first + j));
                }
            } else {
                // ggml keeps value j in the low nibble of byte j and value j + 16 in its high nibble; repacked as
                // values 2k (low) and 2k + 1 (high) in byte k, one gather yields the values in order
                for (int k = 0; k < BLOCK / 2; k++) {
                    q.put((byte) (nibble(src, first, 2 * k) | nibble(src, first, 2 * k + 1) << 4));
                }
            }
        }
        NDArray codes = manager.create(q.flip(), new Shape(blockShape.get(0), blockShape.get(1), codeBytes),
                format == Format.Q8_0 ? DataType.INT8 : DataType.UINT8);
        Shape scaleShape = new Shape(blockShape.get(0), blockShape.get(1), 1);
        NDArray scales = manager.create(d.flip(), scaleShape, DataType.FLOAT16);
        NDArray mins = m == null ? null : manager.create(m.flip(), scaleShape, DataType.FLOAT16);
        NDArray pairs = null;
        if (format != Format.Q8_0) {
            int offset = format == Format.Q4_0 ? 8 : 0;
            float[] table = new float[256 * 2];
            for (int v = 0; v < 256; v++) {
                table[2 * v] = (v & 0x0F) - offset;
                table[2 * v + 1] = (v >>> 4) - offset;
            }
            pairs = manager.create(table, new Shape(256, 2));
        }
        return new GgufBlockWeight(format, shape, codes, scales, mins, pairs);
    }

    private static ByteBuffer halves(int n) {
        return ByteBuffer.allocateDirect(2 * n).order(ByteOrder.nativeOrder());
    }

    /** The 4-bit code of value {@code j} (0..31) of the block whose code bytes start at {@code first}. */
    private static int nibble(ByteBuffer src, int first, int j) {
        int b = src.get(first + (j & 15)) & 0xFF;
        return j < 16 ? b & 0x0F : b >>> 4;
    }

    public Format format() {
        return format;
    }

    /** {@code [out, in]}. */
    @Override
    public Shape shape() {
        return shape;
    }

    /** Bytes held: codes, scales and minimums (the file's own size for this tensor). */
    @Override
    public long bytes() {
        return codes.size() + 2 * scales.size() + (mins == null ? 0 : 2 * mins.size());
    }

    /** The float32 weight {@code [out, in]}, new on each call (free it with the step's scope). */
    @Override
    public NDArray dense() {
        NDArray q = switch (format) {
            case Q8_0 -> codes.toType(DataType.FLOAT32, false); // [out, in/32, 32]
            case Q4_0, Q4_1 -> {
                NDArray both = pairs.get(new NDIndex("{}", codes.toType(DataType.INT64, false))); // [out, in/32, 16, 2]
                yield both.reshape(shape.get(0), shape.get(1) / BLOCK, BLOCK); // [out, in/32, 32]
            }
        };
        // two separate float32 kernels, as the Java dequantiser rounds twice: no fused multiply-add
        NDArray x = q.mul(scales.toType(DataType.FLOAT32, false));
        if (mins != null) {
            x = x.add(mins.toType(DataType.FLOAT32, false));
        }
        return x.reshape(shape);
    }

    @Override
    public void close() {
        codes.close();
        scales.close();
        if (mins != null) {
            mins.close();
        }
        if (pairs != null) {
            pairs.close();
        }
    }
}
