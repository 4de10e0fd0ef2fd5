package org.llamawb.distributed;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.io.File;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.llamawb.datasets.batch.LoaderPosition;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.train.MetricMeans;
import org.llamawb.finetune.train.ParallelGradients;
import org.llamawb.finetune.train.TrainingStep;
import org.llamawb.model.BadInputException;

/**
 * Each step's gradients from Spark executors. The driver broadcasts the trainable values; one task per worker
 * runs its micro-batches (those whose index in the step is the worker's number modulo the workers) on the
 * executor's cached {@link org.llamawb.finetune.train.Replica} and returns its summed, unscaled gradient with
 * its loss and unit counts; the driver adds the workers' arrays in worker order (so the sum does not depend
 * on which task finished first), divides by the units of all of them, and puts the result into its own
 * tensors' gradients for the trainer's clipping and optimiser step.
 */
final class SparkGradients implements ParallelGradients {
    private static final Pattern LOCAL_CLUSTER = Pattern.compile("local-cluster\\[\\s*(\\d+)\\s*,\\s*(\\d+)\\s*,\\s*(\\d+)\\s*]");

    private final JavaSparkContext sc;
    private final String recipeYaml;
    private final int workers;
    private final PrintStream out;
    private final boolean ownsContext;
    private final StepTimes times = new StepTimes();
    private Map<String, Double> lastStep = Map.of();

    private SparkGradients(JavaSparkContext sc, String recipeYaml, int workers, PrintStream out, boolean ownsContext) {
        this.sc = sc;
        this.recipeYaml = recipeYaml;
        this.workers = workers;
        this.out = out;
        this.ownsContext = ownsContext;
    }

    /**
     * The gradients of {@code recipe}'s steps on an application that is already running, which {@link #close} leaves
     * running (runs one after another on the same executors: each executor swaps its replica for the new recipe's).
     */
    static SparkGradients on(JavaSparkContext sc, int workers, Recipe recipe, PrintStream out) {
        return new SparkGradients(sc, WorkerRecipe.yaml(recipe), workers, out, false);
    }

    /**
     * Starts a Spark application on {@code master} for {@code recipe}.
     *
     * @param workers workers per step (0: one per executor core of a {@code local-cluster}, else Spark's default parallelism)
     */
    static SparkGradients start(String master, int workers, Recipe recipe, PrintStream out) {
        if (workers < 0) {
            throw new BadInputException("--workers must be >= 1 (or 0 for one per executor core), got " + workers);
        }
        String yaml = WorkerRecipe.yaml(recipe);
        SparkConf conf = conf(master, LOCAL_CLUSTER.matcher(master).matches());
        JavaSparkContext sc = new JavaSparkContext(org.apache.spark.SparkContext.getOrCreate(conf));
        try {
            int cores = awaitWorkers(sc, master);
            int n = workers > 0 ? workers : cores;
            out.printf("spark: %s, application %s, %d workers per step%n", master, sc.sc().applicationId(), n);
            return new SparkGradients(sc, yaml, n, out, true);
        } catch (RuntimeException | Error e) {
            sc.stop();
            throw e;
        }
    }

    /**
     * The application's configuration: the JVM flags the workbench runs with on every executor; for a
     * {@code local-cluster} master (executor JVMs started on this machine) also the driver's class path, so
     * that no Spark distribution ({@code SPARK_HOME/jars}) is needed, and small executors.
     */
    static SparkConf conf(String master, boolean localCluster) {
        SparkConf conf = new SparkConf().setMaster(master).setAppName("workbench finetune");
        String opts = "-Dai.djl.offline=true -Xss4m -Dorg.slf4j.simpleLogger.defaultLogLevel=warn";
        conf.set("spark.executor.extraJavaOptions", (conf.get("spark.executor.extraJavaOptions", "") + " " + opts).trim());
        conf.setExecutorEnv("DJL_OFFLINE", "true");
        if (localCluster) {
            conf.setIfMissing("spark.ui.enabled", "false");
            conf.setIfMissing("spark.driver.host", "127.0.0.1");
            conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
            conf.setIfMissing("spark.executor.memory", "512m");
            // absolute, since an executor starts in its own work directory: a driver started with a relative
            // -cp would otherwise give every executor a class path that names nothing there
            conf.setIfMissing("spark.executor.extraClassPath", absoluteClassPath(System.getProperty("java.class.path")));
            // a worker builds the executor's command line from SPARK_HOME/jars unless Spark is "testing"; here
            // the class path above already holds Spark, so the executors are told not to look for it
            conf.setExecutorEnv("SPARK_TESTING", "1");
            conf.setExecutorEnv("SPARK_SCALA_VERSION", "2.13");
        }
        return conf;
    }

    /** Each entry of a class path made absolute against this JVM's working directory (wildcards kept). */
    static String absoluteClassPath(String classPath) {
        StringBuilder out = new StringBuilder();
        for (String entry : classPath.split(File.pathSeparator)) {
            if (entry.isEmpty()) {
                continue;
            }
            if (out.length() > 0) {
                out.append(File.pathSeparatorChar);
            }
            out.append(Path.of(entry).toAbsolutePath().normalize());
        }
        return out.toString();
    }

    /**
     * One worker per executor core: for {@code local-cluster[N,C,MB]} N·C once the N executors have registered,
     * else Spark's default parallelism.
     */
    static int awaitWorkers(JavaSparkContext sc, String master) {
        Matcher local = LOCAL_CLUSTER.matcher(master);
        if (local.matches()) {
            int executors = Integer.parseInt(local.group(1));
            awaitExecutors(sc, executors, 120_000);
            return executors * Integer.parseInt(local.group(2));
        }
        return sc.defaultParallelism();
    }

    private static void awaitExecutors(JavaSparkContext sc, int executors, long timeoutMillis) {
        long until = System.currentTimeMillis() + timeoutMillis;
        // the driver is listed among the executors
        while (sc.sc().statusTracker().getExecutorInfos().length < executors + 1) {
            if (System.currentTimeMillis() > until) {
                throw new BadInputException("--spark: " + executors + " executors did not register within "
                        + timeoutMillis / 1000 + " s (see the executors' logs in the Spark work directory)");
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    @Override
    public TrainingStep.Sums gradients(LoaderPosition start, int count, long seedBase, Map<String, NDArray> params,
            MetricMeans metrics) {
        long t0 = System.nanoTime();
        float[] values = ExecutorReplicas.flatten(params);
        String yaml = recipeYaml;
        int w = workers;
        int epoch = start.epoch();
        long batch = start.batch();
        List<WorkerShare> shares = exchange(sc, w, values,
                (i, v) -> ExecutorReplicas.share(yaml, i, w, new LoaderPosition(epoch, batch), count, seedBase, v));
        TrainingStep.Sums sums = TrainingStep.Sums.ZERO;
        long slowest = 0;
        for (WorkerShare s : shares) {
            sums = sums.plus(s.sums());
            slowest = Math.max(slowest, s.computeNanos());
        }
        mergeMetrics(shares, metrics);
        float[] sum = sumInOrder(shares, values.length);
        setGradients(params, sum, 1.0 / Math.max(1, sums.units()));
        long t2 = System.nanoTime();
        times.add(t2 - t0, t2 - t0 - slowest, values.length);
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("data_parallel/step_seconds", (t2 - t0) / 1e9);
        m.put("data_parallel/exchange_seconds", Math.max(0, t2 - t0 - slowest) / 1e9);
        for (int i = 0; i < shares.size(); i++) {
            m.put("data_parallel/worker_" + i + "_seconds", shares.get(i).computeNanos() / 1e9);
            if (shares.get(i).process() != null) {
                shares.get(i).process().putMetrics(i, m);
            }
        }
        lastStep = m;
        return sums;
    }

    /** What one worker does with the values it was sent (a Spark task; serialised to the executors). */
    interface WorkerTask extends Serializable {
        WorkerShare run(int worker, float[] values);
    }

    /**
     * One exchange: {@code values} broadcast, one task per worker, the workers' shares collected in worker order
     * (a job result keeps its partitions' order whatever their finishing order).
     */
    static List<WorkerShare> exchange(JavaSparkContext sc, int workers, float[] values, WorkerTask task) {
        Broadcast<float[]> bc = sc.broadcast(values);
        try {
            List<Integer> ids = new ArrayList<>(workers);
            for (int i = 0; i < workers; i++) {
                ids.add(i);
            }
            return sc.parallelize(ids, workers).map(i -> task.run(i, bc.value())).collect();
        } finally {
            bc.destroy();
        }
    }

    /** The workers' gradients added element by element, worker 0 first. */
    static float[] sumInOrder(List<WorkerShare> shares, int n) {
        float[] sum = new float[n];
        for (WorkerShare s : shares) {
            float[] g = s.gradient();
            for (int i = 0; i < n; i++) {
                sum[i] += g[i];
            }
        }
        return sum;
    }

    /** The workers' per-micro-batch metrics merged into {@code into} in the micro-batches' order in the step. */
    static void mergeMetrics(List<WorkerShare> shares, MetricMeans into) {
        Map<Integer, Map<String, double[]>> byMicroBatch = new TreeMap<>();
        shares.forEach(s -> byMicroBatch.putAll(s.metrics()));
        byMicroBatch.values().forEach(into::merge);
    }

    /** Puts {@code scale · flat} (split in the tensors' order) into the tensors' gradients. */
    static void setGradients(Map<String, NDArray> params, float[] flat, double scale) {
        int at = 0;
        for (NDArray p : params.values()) {
            int n = Math.toIntExact(p.size());
            float[] g = new float[n];
            for (int i = 0; i < n; i++) {
                g[i] = (float) (flat[at + i] * scale);
            }
            at += n;
            try (NDManager m = p.getManager().newSubManager()) {
                // backward from a leaf adds the upstream array to its gradient: zeroed first, it becomes that array
                JniUtils.zeroGrad((PtNDArray) p);
                JniUtils.backward((PtNDArray) p, (PtNDArray) m.create(g, p.getShape()), false, false);
            }
        }
    }

    /** What the all-reduce has cost so far. */
    StepTimes times() {
        return times;
    }

    @Override
    public int workers() {
        return workers;
    }

    /**
     * The last step's wall time, its exchange (wall time less the slowest worker) and each worker's own time, CPU
     * time, peak resident set and Java heap in use ({@link WorkerProcess}).
     */
    @Override
    public Map<String, Double> stepMetrics() {
        return lastStep;
    }

    @Override
    public void close() {
        if (times.steps() > 0) {
            out.println("spark: " + times.summary());
        }
        if (ownsContext) {
            sc.stop();
        }
    }

    /**
     * Per step: the wall time of the whole gradient exchange, and the part of it not spent computing (wall time
     * of the job less the slowest worker's forward and backward passes, plus the driver's sum).
     */
    static final class StepTimes {
        private long steps;
        private long wallNanos;
        private long exchangeNanos;
        private long floats;

        void add(long wall, long exchange, long n) {
            steps++;
            wallNanos += wall;
            exchangeNanos += Math.max(0, exchange);
            floats = n;
        }

        long steps() {
            return steps;
        }

        double meanExchangeMillis() {
            return exchangeNanos / 1e6 / Math.max(1, steps);
        }

        String summary() {
            return String.format(Locale.ROOT, "%d steps, %.1f ms per step, of which %.1f ms moving and adding %,d gradient "
                    + "values (%.2f MB per worker) and broadcasting the adapter", steps, wallNanos / 1e6 / steps,
                    meanExchangeMillis(), floats, floats * 4 / 1e6);
        }
    }
}
