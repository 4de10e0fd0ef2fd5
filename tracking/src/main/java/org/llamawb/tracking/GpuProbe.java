package org.llamawb.tracking;

import java.util.List;

/**
 * A source of GPU readings for system metrics, asked once per sample. Training on a GPU supplies one
 * (e.g. reading NVML or {@code nvidia-smi}); on CPU there is none and no GPU metric is logged.
 */
@FunctionalInterface
public interface GpuProbe {

    GpuProbe NONE = List::of;

    /** One reading per visible GPU; an empty list when there is none or it cannot be read. */
    List<GpuSample> sample();

    /**
     * One GPU's reading; NaN for what cannot be read (that metric is then left out).
     *
     * @param index the device index, as in MLflow's {@code system/gpu_<index>_...} names
     */
    record GpuSample(int index, double utilizationPercent, double memoryUsedMegabytes, double memoryTotalMegabytes,
            double powerWatts, double powerLimitWatts) {
        public GpuSample {
            if (index < 0) {
                throw new IllegalArgumentException("GPU index must be >= 0, got " + index);
            }
        }
    }
}
