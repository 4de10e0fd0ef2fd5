package org.llamawb.model.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.util.Locale;
import org.llamawb.model.Kernels;

/**
 * A frozen projection weight {@code [out, in]} kept as its codes in native memory and dequantised on each use, so
 * that only one layer's float32 weight exists at a time (QLoRA's scheme): {@code nf4} (half a byte per value plus
 * a float per 64) or {@code int8} (a byte per value plus a float per row). {@link #dequantize()} gives exactly
 * what {@link Nf4#dequantize()} / {@link Int8Rowwise#dequantize()} give, i.e. bitsandbytes' dequantised weight.
 */
public final class QuantizedWeight implements FrozenWeight {
    /** {@code model.quantize}: how a frozen base's projections are stored. */
    public enum Kind {
        NF4, INT8;

        public static Kind parse(String s) {
            for (Kind k : values()) {
                if (k.name().toLowerCase(Locale.ROOT).equals(s)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("expected nf4 or int8, got '" + s + "'");
        }
    }

    private final Kind kind;
    private final Shape shape; // [out, in]
    private final NDArray codes; // nf4: uint8 [⌈n/2⌉] packed; int8: int8 [out, in]
    private final NDArray scales; // nf4: float32 [blocks]; int8: float32 [out, 1]
    private final NDArray pairs; // nf4: float32 [256, 2], the two levels each byte codes; int8: 0-d 1/127
    private final int blockSize;

    private QuantizedWeight(Kind kind, Shape shape, NDArray codes, NDArray scales, NDArray pairs, int blockSize) {
        this.kind = kind;
        this.shape = shape;
        this.codes = codes;
        this.scales = scales;
        this.pairs = pairs;
        this.blockSize = blockSize;
        NDScope.unregister(codes, scales, pairs); // as long-lived as the model, whatever scope quantised it
    }

    /** Quantises {@code weight [out, in]} (float32) into arrays of {@code manager}. */
    public static QuantizedWeight of(Kind kind, NDArray weight, NDManager manager) {
        float[] w = weight.toFloatArray();
        Shape shape = weight.getShape();
        return switch (kind) {
            case NF4 -> of(Nf4.quantize(w, shape.getShape(), Nf4.BLOCK, false), manager);
            case INT8 -> of(Int8Rowwise.quantize(w, Math.toIntExact(shape.get(1))), shape, manager);
        };
    }

    /** Keeps NF4 codes (with their decoded block scales, double-quantised or not) in {@code manager}'s memory. */
    public static QuantizedWeight of(Nf4 q, NDManager manager) {
        float[] table = new float[256 * 2];
        for (int b = 0; b < 256; b++) {
            table[2 * b] = Nf4.LEVELS[b >>> 4]; // the first value of a pair sits in the high nibble
            table[2 * b + 1] = Nf4.LEVELS[b & 0xf];
        }
        NDArray codes = manager.create(ByteBuffer.wrap(q.packed()), new Shape(q.packed().length), DataType.UINT8);
        return new QuantizedWeight(Kind.NF4, new Shape(q.shape()), codes, manager.create(q.absmax()),
                manager.create(table, new Shape(256, 2)), q.blockSize());
    }

    /** Keeps int8 row codes in {@code manager}'s memory. */
    public static QuantizedWeight of(Int8Rowwise q, Shape shape, NDManager manager) {
        NDArray codes = manager.create(ByteBuffer.wrap(q.codes()), shape, DataType.INT8);
        NDArray scales = manager.create(q.scales(), new Shape(q.scales().length, 1));
        return new QuantizedWeight(Kind.INT8, shape, codes, scales, manager.create(Int8Rowwise.INV_127), 0);
    }

    public Kind kind() {
        return kind;
    }

    /** {@code [out, in]}. */
    @Override
    public Shape shape() {
        return shape;
    }

    /** Bytes held for this weight (codes and scales). */
    @Override
    public long bytes() {
        return codes.size() + 4 * scales.size();
    }

    @Override
    public NDArray dense() {
        return dequantize();
    }

    /** The float32 weight {@code [out, in]}, new on each call (free it with the step's scope). */
    public NDArray dequantize() {
        long n = shape.size();
        return switch (kind) {
            case NF4 -> {
                long blocks = scales.size();
                if (blockSize % 2 == 0 && blocks * blockSize == n) {
                    // every block full, none straddling a byte: the fused gather-and-scale (the weights of a model)
                    yield Kernels.get().nf4Dequantize(codes, pairs, scales).reshape(shape);
                }
                NDArray values = pairs.get(new NDIndex("{}", codes.toType(DataType.INT64, false))).reshape(-1); // [2·⌈n/2⌉]
                NDArray perValue = scales.reshape(blocks, 1).broadcast(blocks, blockSize).reshape(-1); // [blocks·64]
                if (values.size() != n) {
                    values = values.get(new NDIndex(":{}", n));
                }
                if (perValue.size() != n) {
                    perValue = perValue.get(new NDIndex(":{}", n));
                }
                yield values.mul(perValue).reshape(shape);
            }
            // (q · s) · (1/127), as bitsandbytes, in place: one float32 temporary, the result
            case INT8 -> codes.toType(DataType.FLOAT32, false).muli(scales).muli(pairs);
        };
    }

    /** Rows {@code [from, to)}: only their codes are dequantised where rows hold whole blocks (NF4) or always (int8). */
    @Override
    public NDArray denseRows(long from, long to) {
        long in = shape.get(1);
        return switch (kind) {
            case NF4 -> {
                if (blockSize % 2 != 0 || in % blockSize != 0) {
                    yield FrozenWeight.super.denseRows(from, to); // a block straddles two rows
                }
                NDArray c = codes.get(new NDIndex("{}:{}", from * in / 2, to * in / 2));
                NDArray s = scales.get(new NDIndex("{}:{}", from * in / blockSize, to * in / blockSize));
                yield Kernels.get().nf4Dequantize(c, pairs, s).reshape(to - from, in);
            }
            case INT8 -> codes.get(new NDIndex("{}:{}", from, to)).toType(DataType.FLOAT32, false)
                    .muli(scales.get(new NDIndex("{}:{}", from, to))).muli(pairs);
        };
    }

    @Override
    public void close() {
        codes.close();
        scales.close();
        pairs.close();
    }
}
