package org.llamawb.tracking;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the machine's state under MLflow's system metric names ({@code system/cpu_utilization_percentage},
 * {@code system/system_memory_usage_megabytes}, ...), with the same definitions as MLflow's psutil
 * monitors: CPU busy share since the previous reading, memory used = total - available, disk of the
 * root file system, network bytes since the first reading, megabytes = 10^6 bytes.
 * Linux {@code /proc} is read where present; elsewhere the JVM's operating-system bean.
 */
final class SystemMetrics {

    private static final double MB = 1e6;
    private static final Path PROC_STAT = Path.of("/proc/stat");
    private static final Path PROC_MEMINFO = Path.of("/proc/meminfo");
    private static final Path PROC_NET = Path.of("/proc/net/dev");

    private final GpuProbe gpu;
    private long[] lastCpu;
    private double[] firstNet;

    SystemMetrics(GpuProbe gpu) {
        this.gpu = gpu;
        this.lastCpu = cpuTimes();
        this.firstNet = netBytes();
    }

    /** One reading; a metric that cannot be read here is left out. */
    Map<String, Double> read() {
        Map<String, Double> m = new LinkedHashMap<>();
        cpu(m);
        memory(m);
        disk(m);
        network(m);
        for (GpuProbe.GpuSample g : safeGpu()) {
            String p = "system/gpu_" + g.index() + "_";
            put(m, p + "utilization_percentage", g.utilizationPercent());
            put(m, p + "memory_usage_megabytes", g.memoryUsedMegabytes());
            if (g.memoryTotalMegabytes() > 0) {
                put(m, p + "memory_usage_percentage", 100 * g.memoryUsedMegabytes() / g.memoryTotalMegabytes());
            }
            put(m, p + "power_usage_watts", g.powerWatts());
            if (g.powerLimitWatts() > 0) {
                put(m, p + "power_usage_percentage", 100 * g.powerWatts() / g.powerLimitWatts());
            }
        }
        return m;
    }

    private List<GpuProbe.GpuSample> safeGpu() {
        try {
            return gpu.sample();
        } catch (RuntimeException e) {
            return List.of();
        }
    }

    private void cpu(Map<String, Double> m) {
        long[] now = cpuTimes();
        if (now != null && lastCpu != null) {
            long total = now[0] - lastCpu[0];
            long idle = now[1] - lastCpu[1];
            if (total > 0) {
                m.put("system/cpu_utilization_percentage", round1(100.0 * (total - idle) / total));
            }
        } else if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            double load = os.getCpuLoad();
            if (load >= 0) {
                m.put("system/cpu_utilization_percentage", round1(100 * load));
            }
        }
        lastCpu = now;
    }

    /** {total, idle + iowait} jiffies from the first line of /proc/stat, or null. */
    private static long[] cpuTimes() {
        try {
            List<String> lines = Files.readAllLines(PROC_STAT);
            String[] f = lines.get(0).trim().split("\\s+");
            if (!f[0].equals("cpu") || f.length < 5) {
                return null;
            }
            long total = 0;
            for (int i = 1; i < f.length && i <= 8; i++) {
                total += Long.parseLong(f[i]);
            }
            long idle = Long.parseLong(f[4]) + (f.length > 5 ? Long.parseLong(f[5]) : 0);
            return new long[] {total, idle};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static void memory(Map<String, Double> m) {
        double total = -1;
        double available = -1;
        try {
            for (String line : Files.readAllLines(PROC_MEMINFO)) {
                String[] f = line.split("\\s+");
                if (f[0].equals("MemTotal:")) {
                    total = Long.parseLong(f[1]) * 1024.0;
                } else if (f[0].equals("MemAvailable:")) {
                    available = Long.parseLong(f[1]) * 1024.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: use the bean below
        }
        if ((total <= 0 || available < 0)
                && ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            total = os.getTotalMemorySize();
            available = os.getFreeMemorySize();
        }
        if (total > 0 && available >= 0) {
            double used = total - available;
            m.put("system/system_memory_usage_megabytes", round1(used / MB));
            m.put("system/system_memory_usage_percentage", round1(100 * used / total));
        }
    }

    private static void disk(Map<String, Double> m) {
        try {
            FileStore root = Files.getFileStore(Path.of("/").toAbsolutePath().getRoot());
            double total = root.getTotalSpace();
            double used = total - root.getUnallocatedSpace();
            double usable = root.getUsableSpace();
            if (total > 0) {
                // psutil's percent: used over what a user could have (used + available to non-root).
                m.put("system/disk_usage_percentage", round1(100 * used / (used + usable)));
                m.put("system/disk_usage_megabytes", round1(used / MB));
                m.put("system/disk_available_megabytes", round1(usable / MB));
            }
        } catch (IOException | RuntimeException e) {
            // no disk metrics on this platform
        }
    }

    private void network(Map<String, Double> m) {
        double[] now = netBytes();
        if (now != null && firstNet != null) {
            m.put("system/network_receive_megabytes", round1((now[0] - firstNet[0]) / MB));
            m.put("system/network_transmit_megabytes", round1((now[1] - firstNet[1]) / MB));
        }
    }

    /** {received, transmitted} bytes summed over interfaces, or null. */
    private static double[] netBytes() {
        try {
            double rx = 0;
            double tx = 0;
            List<String> lines = Files.readAllLines(PROC_NET);
            for (String line : lines.subList(2, lines.size())) {
                String[] f = line.substring(line.indexOf(':') + 1).trim().split("\\s+");
                rx += Double.parseDouble(f[0]);
                tx += Double.parseDouble(f[8]);
            }
            return new double[] {rx, tx};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static void put(Map<String, Double> m, String key, double v) {
        if (!Double.isNaN(v)) {
            m.put(key, round1(v));
        }
    }

    private static double round1(double v) {
        return Math.round(v * 10) / 10.0;
    }
}
