package org.llamawb.model.quant;

import java.util.Arrays;

/**
 * bitsandbytes' signed 8-bit dynamic code ({@code create_dynamic_map(signed=True, max_exponent_bits=7,
 * total_bits=8)}, Dettmers 2016): for each exponent {@code e = 0..6}, the midpoints of {@code 2^e + 1} points
 * evenly spaced on {@code [0.1, 1]} times {@code ±10^(e-6)}, plus 0 and 1, sorted: 256 values in {@code [-1, 1]}
 * dense near zero. It codes the double-quantised NF4 block scales.
 */
final class DynamicCode {
    private static final double[] POWERS = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1};
    static final float[] CODE = build();

    private DynamicCode() {}

    private static float[] build() {
        float[] data = new float[256];
        int k = 0;
        for (int e = 0; e < 7; e++) {
            float[] points = linspace(0.1f, 1f, (1 << e) + 1);
            float scale = (float) POWERS[e]; // the Python float 10 ** (e - 6), as float32 in a float32 product
            for (int sign : new int[] {1, -1}) {
                for (int i = 0; i + 1 < points.length; i++) {
                    float mean = (points[i] + points[i + 1]) / 2f;
                    data[k++] = sign * (scale * mean);
                }
            }
        }
        data[k++] = 0f;
        data[k++] = 1f;
        if (k != 256) {
            throw new AssertionError("dynamic code has " + k + " values");
        }
        Arrays.sort(data);
        return data;
    }

    /**
     * torch.linspace in float32 as bitsandbytes' table got it: {@code start + i·step} for the first half,
     * {@code end - (n-1-i)·step} after, each rounded once (torch's CPU kernel compiles to fused multiply-adds).
     */
    private static float[] linspace(float start, float end, int n) {
        float step = (end - start) / (n - 1);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = i < n / 2 ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (n - 1 - i), end);
        }
        return out;
    }

    /**
     * The index of the code value nearest {@code x}: the last value not above {@code x}, or the next when that one
     * is strictly nearer (bitsandbytes' CPU kernel: binary search, then a distance check that keeps ties left).
     */
    static int nearest(float x) {
        int lo = 0;
        int hi = CODE.length - 1;
        while (lo < hi) { // the largest index with CODE[index] <= x (0 when x is below every value)
            int mid = (lo + hi + 1) >>> 1;
            if (CODE[mid] <= x) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        if (lo < CODE.length - 1 && Math.abs(x - CODE[lo + 1]) < Math.abs(x - CODE[lo])) {
            lo++;
        }
        return lo;
    }
}
