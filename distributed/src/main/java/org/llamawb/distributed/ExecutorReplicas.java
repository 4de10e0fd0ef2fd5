package org.llamawb.distributed;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.llamawb.config.StrictYaml;
import org.llamawb.datasets.batch.LoadedBatch;
import org.llamawb.datasets.batch.LoaderPosition;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.train.MetricMeans;
import org.llamawb.finetune.train.Replica;
import org.llamawb.finetune.train.TrainingMethod;
import org.llamawb.finetune.train.TrainingStep;

/**
 * The replicas an executor JVM keeps across steps, one per recipe (its resolved YAML is the key): the frozen
 * base is loaded, the data read and encoded, on the first task of a run and reused by every later one. A
 * replica's trainable values are overwritten from the driver's at the start of every task, so a replica made
 * fresh (a new or restarted executor) computes what a long-lived one does.
 */
final class ExecutorReplicas {
    private static final Map<String, Replica> REPLICAS = new HashMap<>();

    private ExecutorReplicas() {}

    /**
     * One worker's share of a step: micro-batches {@code i} of the {@code count} from {@code start} with
     * {@code i mod workers == worker}, run with the trainable values {@code values}.
     */
    static WorkerShare share(String recipeYaml, int worker, int workers, LoaderPosition start, int count, long seedBase,
            float[] values) {
        long t0 = System.nanoTime();
        long cpu0 = WorkerProcess.cpuNanosNow();
        Replica replica = replica(recipeYaml);
        // one task at a time per JVM: DJL allows one gradient collector per process
        synchronized (ExecutorReplicas.class) {
            Map<String, NDArray> params = replica.params();
            load(params, values);
            WorkerShare s = share(replica.method(), params, worker, workers, start, count, seedBase, values.length);
            return new WorkerShare(s.lossSum(), s.tokens(), s.units(), s.trainedTokens(), s.gradient(), s.metrics(),
                    System.nanoTime() - t0, WorkerProcess.since(cpu0));
        }
    }

    private static <B> WorkerShare share(TrainingMethod<B> method, Map<String, NDArray> params, int worker, int workers,
            LoaderPosition start, int count, long seedBase, int size) {
        Iterator<LoadedBatch<B>> it = method.batches(start);
        List<B> micro = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            micro.add(it.next().batch());
        }
        boolean trains = false;
        for (int i = worker; i < count; i += workers) {
            trains |= method.loss().units(micro.get(i)) > 0;
        }
        if (trains) {
            params.values().forEach(p -> JniUtils.zeroGrad((PtNDArray) p));
        }
        // the method's metrics of each micro-batch apart, for the driver to merge in the step's order; what an earlier
        // task left in the accumulator (one that failed half-way) is dropped first
        MetricMeans means = method.metricMeans();
        means.take();
        Map<Integer, Map<String, double[]>> metrics = new TreeMap<>();
        TrainingStep.Sums s = TrainingStep.Sums.ZERO;
        for (int i = worker; i < count; i += workers) {
            int at = i;
            // scale 1: the driver divides the summed gradient by the units of all workers together
            s = s.plus(TrainingStep.accumulate(micro, method.loss(), k -> k == at, 1.0, seedBase));
            Map<String, double[]> m = means.pending();
            means.take();
            if (!m.isEmpty()) {
                metrics.put(i, m);
            }
        }
        float[] gradient = new float[size];
        if (trains) {
            int at = 0;
            for (NDArray p : params.values()) {
                try (NDArray g = p.getGradient()) {
                    float[] v = g.toFloatArray();
                    System.arraycopy(v, 0, gradient, at, v.length);
                    at += v.length;
                }
            }
        }
        return new WorkerShare(s.lossSum(), s.tokens(), s.units(), s.trainedTokens(), gradient, metrics, 0, null);
    }

    /**
     * The replica of {@code recipeYaml}, opened on first use. An executor serves one run at a time (an application
     * is one run), so a replica of another recipe is closed first: an in-process {@code local[N]} master running
     * runs one after another does not keep every base it saw.
     */
    private static synchronized Replica replica(String recipeYaml) {
        Replica kept = REPLICAS.get(recipeYaml);
        if (kept != null) {
            return kept;
        }
        REPLICAS.values().forEach(Replica::close);
        REPLICAS.clear();
        Recipe r = StrictYaml.parse(recipeYaml, "recipe from the driver", Recipe.class, "recipe");
        Replica opened = Replica.open(r, Optional.empty(), System.err);
        REPLICAS.put(recipeYaml, opened);
        return opened;
    }

    /** Copies the driver's values into the replica's trainable tensors, in their order. */
    static void load(Map<String, NDArray> params, float[] values) {
        int at = 0;
        for (NDArray p : params.values()) {
            int n = Math.toIntExact(p.size());
            float[] v = new float[n];
            System.arraycopy(values, at, v, 0, n);
            p.set(v);
            at += n;
        }
        if (at != values.length) {
            throw new IllegalStateException("the driver sent " + values.length + " trainable values, the replica has " + at);
        }
    }

    /** The trainable tensors' values, one after another in their order. */
    static float[] flatten(Map<String, NDArray> params) {
        long total = params.values().stream().mapToLong(NDArray::size).sum();
        float[] out = new float[Math.toIntExact(total)];
        int at = 0;
        for (NDArray p : params.values()) {
            float[] v = p.toFloatArray();
            System.arraycopy(v, 0, out, at, v.length);
            at += v.length;
        }
        return out;
    }
}
