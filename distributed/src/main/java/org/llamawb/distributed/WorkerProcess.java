package org.llamawb.distributed;

import java.io.IOException;
import java.io.Serializable;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * What a worker's share of a step cost its executor JVM, sent back with its gradient so that the driver logs every
 * executor's system metrics with the step's (an executor has no tracked run of its own): the CPU time of the process
 * while it computed the share, its peak resident set and the Java heap in use at the end. The native memory of the
 * model and its activations is outside the heap, so the peak RSS is the figure to watch for an executor's limit.
 *
 * @param cpuNanos CPU time of the whole process (every thread) during the share; -1 where the JVM does not tell
 * @param peakRssBytes the process's peak resident set size since it started ({@code VmHWM}); -1 off Linux
 * @param heapUsedBytes Java heap in use once the share was computed
 */
record WorkerProcess(long cpuNanos, long peakRssBytes, long heapUsedBytes) implements Serializable {
    private static final double MIB = 1024.0 * 1024.0;

    /** The process's CPU time so far, in nanoseconds (-1 where the JVM does not tell). */
    static long cpuNanosNow() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }

    /** This process now, after a share that started when its CPU time was {@code cpuNanosBefore}. */
    static WorkerProcess since(long cpuNanosBefore) {
        long cpu = cpuNanosNow();
        Runtime rt = Runtime.getRuntime();
        return new WorkerProcess(cpu < 0 || cpuNanosBefore < 0 ? -1 : cpu - cpuNanosBefore, peakRss(),
                rt.totalMemory() - rt.freeMemory());
    }

    /** {@code VmHWM} from {@code /proc/self/status}, in bytes, or -1. */
    static long peakRss() {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) {
            return -1;
        }
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024; // the file says kB
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /** The metrics of worker {@code worker} under {@code data_parallel/worker_N_...}; what is not known is left out. */
    void putMetrics(int worker, Map<String, Double> into) {
        String prefix = "data_parallel/worker_" + worker + "_";
        if (cpuNanos >= 0) {
            into.put(prefix + "cpu_seconds", cpuNanos / 1e9);
        }
        if (peakRssBytes >= 0) {
            into.put(prefix + "peak_rss_mib", peakRssBytes / MIB);
        }
        into.put(prefix + "heap_used_mib", heapUsedBytes / MIB);
    }
}
