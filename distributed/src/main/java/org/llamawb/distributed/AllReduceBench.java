package org.llamawb.distributed;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The all-reduce's cost alone (bench/BENCHMARKS.md, "Data-parallel training on Spark"): for each size, the
 * step's exchange as {@link SparkGradients} does it (broadcast of the trainable values, one task per worker
 * returning a gradient of the same size, the driver's sum in worker order) with no forward or backward pass,
 * timed over several steps after a warm-up. The last line printed is the JSON result.
 *
 * <pre>
 *   java SPARK_JVM_OPENS -cp distributed/target/workbench-spark.jar org.llamawb.distributed.AllReduceBench \
 *       [local-cluster[2,1,1536]] [floats,floats,...] [steps]
 * </pre>
 */
public final class AllReduceBench {
    private AllReduceBench() {}

    public static void main(String[] args) {
        String master = args.length > 0 ? args[0] : "local-cluster[2,1,1536]";
        int[] sizes = Arrays.stream((args.length > 1 ? args[1] : "262656,2101248,19988480").split(","))
                .mapToInt(s -> Integer.parseInt(s.trim())).toArray();
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        SparkConf conf = SparkGradients.conf(master, master.startsWith("local-cluster"));
        conf.set("spark.executor.memory", "1g"); // a worker holds the 7B-shaped gradient (80 MB) about three times over
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            int workers = SparkGradients.awaitWorkers(sc, master);
            Map<String, Object> results = new LinkedHashMap<>();
            for (int n : sizes) {
                float[] values = new float[n];
                List<Double> millis = new ArrayList<>();
                for (int s = -1; s < steps; s++) { // step -1 warms up (class loading, first broadcast)
                    long t0 = System.nanoTime();
                    List<WorkerShare> shares = SparkGradients.exchange(sc, workers, values,
                            (i, v) -> new WorkerShare(0, 0, 0, 0, new float[v.length], Map.of(), 0, null));
                    SparkGradients.sumInOrder(shares, n);
                    if (s >= 0) {
                        millis.add((System.nanoTime() - t0) / 1e6);
                    }
                }
                millis.sort(null);
                double median = millis.get(millis.size() / 2);
                System.err.printf(Locale.ROOT, "%,d floats (%.1f MB): median %.1f ms per step, %d workers%n", n, n * 4 / 1e6,
                        median, workers);
                results.put(Integer.toString(n), Map.of("mb", n * 4 / 1e6, "median_ms", median, "all_ms", millis));
            }
            System.out.println(json(master, workers, results));
        }
    }

    private static String json(String master, int workers, Map<String, Object> results) {
        StringBuilder sb = new StringBuilder("{\"master\":\"").append(master).append("\",\"workers\":").append(workers)
                .append(",\"results\":{");
        int k = 0;
        for (Map.Entry<String, Object> e : results.entrySet()) {
            @SuppressWarnings("unchecked")
            Map<String, Object> r = (Map<String, Object>) e.getValue();
            sb.append(k++ == 0 ? "" : ",").append('"').append(e.getKey()).append("\":{")
                    .append(String.format(Locale.ROOT, "\"mb\":%.3f,\"median_ms\":%.2f,\"all_ms\":%s}", r.get("mb"),
                            r.get("median_ms"), r.get("all_ms").toString()));
        }
        return sb.append("}}").toString();
    }
}
