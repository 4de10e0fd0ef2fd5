package org.llamawb.distributed;

import ai.djl.pytorch.jni.JniUtils;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.Objects;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.report.ShardRun;
import org.llamawb.eval.run.AdapterLoader;
import org.llamawb.eval.run.EvalSettings;
import org.llamawb.eval.run.TaskRunners;
import org.llamawb.eval.run.WorkerModel;
import org.llamawb.eval.task.Shard;
import org.llamawb.model.BadInputException;

/**
 * The evaluation model an executor JVM keeps across tasks: opened by the first task of an application (the
 * opening job {@link SparkScoring} runs on connecting), reused by every task after it; the adapter the last task
 * asked for stays attached until a task asks for another (or none), so a comparison's base and adapter passes
 * each attach once. A task of another model closes the kept one first.
 */
final class ExecutorEvalModels {
    private static WorkerModel openedSpec;
    private static EvalModel opened;
    private static String attachedPath;
    private static AutoCloseable attached;

    private ExecutorEvalModels() {}

    /** What the driver's report says of the model: its window and whether it puts BOS first. */
    record Facts(int maxLength, boolean addBos) implements Serializable {}

    /**
     * A task's value, or the one line of the user error it met (a bad line of a data file, a checkpoint or adapter
     * that does not load). Returned rather than thrown: a failed Spark task is retried (on a cluster, up to
     * {@code spark.task.maxFailures} times) and logged with its stack trace, and neither helps with a bad file.
     */
    record Outcome<T extends Serializable>(T value, String userError) implements Serializable {
        T get() {
            if (userError != null) {
                throw new BadInputException(userError);
            }
            return value;
        }
    }

    /** Opens {@code spec} here (if not yet) and describes it. */
    static synchronized Outcome<Facts> open(WorkerModel spec) {
        try {
            EvalModel m = model(spec);
            return new Outcome<>(new Facts(m.maxLength(), m.addBos()), null);
        } catch (BadInputException e) {
            return new Outcome<>(null, e.getMessage());
        }
    }

    /**
     * Scores {@code shard} of {@code task} with the single process's {@link TaskRunners#score} on the kept model,
     * {@code adapter} attached (none when null). One task at a time per JVM: the tasks of a {@code local[N]} master
     * share one model, and an adapter is a change to its weights.
     */
    static synchronized Outcome<ShardRun> score(WorkerModel spec, String adapter, ShippedTask task, EvalSettings settings,
            Shard shard) {
        // grad mode is per thread, and Spark's task threads are not the one DJL switched it off in
        JniUtils.setGradMode(false);
        try {
            EvalModel m = model(spec);
            attach(m, adapter);
            return new Outcome<>(TaskRunners.score(task.task(), m, settings, shard), null);
        } catch (BadInputException e) {
            return new Outcome<>(null, e.getMessage());
        }
    }

    private static EvalModel model(WorkerModel spec) {
        if (!spec.equals(openedSpec)) {
            close();
            opened = spec.open();
            openedSpec = spec;
        }
        return opened;
    }

    private static void attach(EvalModel m, String adapter) {
        if (Objects.equals(adapter, attachedPath)) {
            return;
        }
        detach();
        if (adapter != null) {
            attached = AdapterLoader.PEFT.attach(m.llama(), Path.of(adapter));
            attachedPath = adapter;
        }
    }

    private static void detach() {
        if (attached != null) {
            try {
                attached.close();
            } catch (Exception e) {
                throw new IllegalStateException("detaching the adapter " + attachedPath + " failed", e);
            } finally {
                attached = null;
                attachedPath = null;
            }
        }
    }

    private static void close() {
        detach();
        if (opened != null) {
            opened.close();
            opened = null;
            openedSpec = null;
        }
    }
}
