package org.llamawb.model.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.Locale;

/**
 * What re-quantising merged weights costs: a LoRA merged onto a quantised base gives {@code W' = deq(Q(W)) + ΔW} in
 * full precision (exactly what training computed); rounding {@code W'} to the same codes again moves it by
 * {@code e = deq(Q(W')) − W'}. Summed over the projections: the RMS and largest {@code |e|}, beside the RMS of the
 * adapter's own change {@code ΔW}, since an error of the order of {@code ΔW} undoes much of the fine-tune.
 */
public final class RequantizationError {
    private double sumSquaredError;
    private double sumSquaredChange;
    private double maxAbsError;
    private long values;

    /**
     * Re-quantises {@code merged [out, in]} as {@code kind} into {@code manager}, counting its error and the change
     * from {@code base} (the dequantised weight the adapter was merged onto); returns the re-quantised weight.
     */
    public QuantizedWeight add(QuantizedWeight.Kind kind, NDArray base, NDArray merged, NDManager manager) {
        QuantizedWeight q = QuantizedWeight.of(kind, merged, manager);
        try (NDScope scope = new NDScope()) {
            NDArray e = q.dense().sub(merged);
            NDArray change = merged.sub(base);
            sumSquaredError += e.square().sum().toType(ai.djl.ndarray.types.DataType.FLOAT64, false).getDouble();
            sumSquaredChange += change.square().sum().toType(ai.djl.ndarray.types.DataType.FLOAT64, false).getDouble();
            maxAbsError = Math.max(maxAbsError, e.abs().max().getFloat());
            values += merged.size();
        }
        return q;
    }

    /** RMS of {@code deq(Q(W')) − W'} over every value counted. */
    public double rms() {
        return values == 0 ? 0 : Math.sqrt(sumSquaredError / values);
    }

    /** RMS of the adapter's change {@code W' − deq(Q(W))}. */
    public double changeRms() {
        return values == 0 ? 0 : Math.sqrt(sumSquaredChange / values);
    }

    /** The largest {@code |deq(Q(W')) − W'|}. */
    public double maxAbs() {
        return maxAbsError;
    }

    /** One line for people. */
    public String describe(QuantizedWeight.Kind kind) {
        return String.format(Locale.ROOT, "re-quantised the merged projections to %s: error RMS %.3g (max |error| %.3g) "
                + "against the adapter's change RMS %.3g (ratio %.2f)", kind.name().toLowerCase(Locale.ROOT), rms(),
                maxAbs(), changeRms(), changeRms() == 0 ? 0 : rms() / changeRms());
    }
}
