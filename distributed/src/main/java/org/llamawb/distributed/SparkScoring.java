package org.llamawb.distributed;

import java.io.PrintStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.llamawb.eval.report.ShardRun;
import org.llamawb.eval.run.EvalSettings;
import org.llamawb.eval.run.ShardedScoring;
import org.llamawb.eval.run.WorkerModel;
import org.llamawb.eval.task.Shard;
import org.llamawb.eval.task.Task;
import org.llamawb.model.BadInputException;

/**
 * An evaluation on Spark executors: one Spark job per task, one Spark task per worker, worker {@code i} scoring
 * the {@code i}-th contiguous range of the task's examples ({@link Shard}) on the model its executor keeps
 * ({@link ExecutorEvalModels}). A job's result keeps its partitions' order whatever order they finish in, so the
 * runs come back in worker order and their records, one after another, in the file's order.
 */
final class SparkScoring implements ShardedScoring {
    private final JavaSparkContext sc;
    private final WorkerModel model;
    private final EvalSettings settings;
    private final int workers;
    private final ExecutorEvalModels.Facts facts;

    private SparkScoring(JavaSparkContext sc, WorkerModel model, EvalSettings settings, int workers,
            ExecutorEvalModels.Facts facts) {
        this.sc = sc;
        this.model = model;
        this.settings = settings;
        this.workers = workers;
        this.facts = facts;
    }

    /**
     * Starts a Spark application on {@code master} and opens the model on every worker.
     *
     * @param workers workers per task (0: one per executor core of a {@code local-cluster}, else Spark's default parallelism)
     */
    static SparkScoring start(String master, int workers, WorkerModel model, EvalSettings settings, PrintStream out) {
        if (workers < 0) {
            throw new BadInputException("--workers must be >= 1 (or 0 for one per executor core), got " + workers);
        }
        SparkConf conf = SparkGradients.conf(master, master.startsWith("local-cluster[")).setAppName("workbench eval");
        JavaSparkContext sc = new JavaSparkContext(SparkContext.getOrCreate(conf));
        try {
            int cores = SparkGradients.awaitWorkers(sc, master);
            int n = workers > 0 ? workers : cores;
            // the opening job: every executor loads the model once, before the first task is timed
            List<ExecutorEvalModels.Facts> facts = values(sc.parallelize(ids(n), n)
                    .map(i -> ExecutorEvalModels.open(model)).collect());
            for (ExecutorEvalModels.Facts f : facts) {
                if (!f.equals(facts.get(0))) {
                    throw new IllegalStateException("the workers opened " + model.path() + " differently: " + facts);
                }
            }
            out.printf("spark: %s, application %s, %d workers per task%n", master, sc.sc().applicationId(), n);
            return new SparkScoring(sc, model, settings, n, facts.get(0));
        } catch (RuntimeException | Error e) {
            sc.stop();
            throw e;
        }
    }

    @Override
    public List<ShardRun> score(Task task, String adapter) {
        // locals, so that the closure Spark ships holds these and not this object (whose context is the driver's)
        WorkerModel m = model;
        EvalSettings s = settings;
        ShippedTask t = ShippedTask.of(task);
        int n = workers;
        return values(sc.parallelize(ids(n), n)
                .map(i -> ExecutorEvalModels.score(m, adapter, t, s, new Shard(i, n))).collect());
    }

    /** Worker numbers 0 .. n - 1, one per partition. */
    private static List<Integer> ids(int n) {
        List<Integer> ids = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            ids.add(i);
        }
        return ids;
    }

    /** The workers' values in worker order; the first user error a worker met, as the one line it was. */
    private static <T extends Serializable> List<T> values(List<ExecutorEvalModels.Outcome<T>> outcomes) {
        List<T> values = new ArrayList<>(outcomes.size());
        for (ExecutorEvalModels.Outcome<T> o : outcomes) {
            values.add(o.get());
        }
        return values;
    }

    @Override
    public int workers() {
        return workers;
    }

    @Override
    public int maxLength() {
        return facts.maxLength();
    }

    @Override
    public boolean addBos() {
        return facts.addBos();
    }

    @Override
    public void close() {
        sc.stop();
    }
}
