package org.llamawb.model.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Locale;
import org.llamawb.model.Kernels;

/**
 * A frozen weight kept in bfloat16 or float16 ({@code model.dtype}), half float32's memory, widened to float32 for
 * each use (the product itself runs in float32, at float32's speed on any CPU).
 *
 * <p>bfloat16 goes through libtorch only: DJL 0.36 aborts the JVM when it creates or converts a bfloat16 tensor
 * itself, but holds one fine as a handle (its dtype reads as unknown), so {@link Kernels#toBf16} rounds, and
 * {@link Kernels#widen} / {@link Kernels#wideRows} widen, inside TorchScript kernels. float16 would work either way;
 * it takes the same kernels for widening.
 */
public final class HalfWeight implements FrozenWeight {
    /** {@code model.dtype} other than float32. */
    public enum Format {
        BF16, FP16;

        /** {@code bf16} or {@code fp16}. */
        public String recipeName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The format named {@code s} ({@code bf16}, {@code fp16}), or null for {@code float32}. */
        public static Format parse(String s) {
            if (s.equals("float32")) {
                return null;
            }
            for (Format f : values()) {
                if (f.recipeName().equals(s)) {
                    return f;
                }
            }
            throw new IllegalArgumentException("expected float32, bf16 or fp16, got '" + s + "'");
        }
    }

    private final Format format;
    private final NDArray values; // bfloat16 (a handle DJL must not operate on) or float16, the weight's shape

    private HalfWeight(Format format, NDArray values) {
        this.format = format;
        this.values = values;
    }

    /** {@code weight} (float32) rounded to {@code format} (to nearest, ties to even), kept in {@code manager}. */
    public static HalfWeight of(Format format, NDArray weight, NDManager manager) {
        NDArray v = switch (format) {
            case BF16 -> Kernels.get().toBf16(weight);
            case FP16 -> weight.toType(DataType.FLOAT16, false);
        };
        NDScope.unregister(v); // as long-lived as the model, whatever scope converted it
        v.attach(manager);
        return new HalfWeight(format, v);
    }

    public Format format() {
        return format;
    }

    @Override
    public Shape shape() {
        return values.getShape();
    }

    @Override
    public long bytes() {
        return 2 * values.getShape().size();
    }

    @Override
    public NDArray dense() {
        return Kernels.get().widen(values);
    }

    @Override
    public NDArray denseRows(long from, long to) {
        return rows(values.getManager().arange(Math.toIntExact(from), Math.toIntExact(to), 1, DataType.INT64)); // [to - from, d]
    }

    /** Rows {@code ids: [...]} (int64) of a {@code [V, d]} table, as float32 {@code [..., d]}: an embedding lookup. */
    public NDArray rows(NDArray ids) {
        return Kernels.get().wideRows(values, ids);
    }

    @Override
    public void close() {
        values.close();
    }
}
