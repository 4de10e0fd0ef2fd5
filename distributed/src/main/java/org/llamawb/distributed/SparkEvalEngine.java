package org.llamawb.distributed;

import java.io.PrintStream;
import org.llamawb.eval.run.EvalSettings;
import org.llamawb.eval.run.ShardedScoring;
import org.llamawb.eval.run.WorkerModel;

/** Apache Spark as the cluster of {@code workbench eval --spark MASTER} (found by ServiceLoader). */
public final class SparkEvalEngine implements ShardedScoring.Engine {

    @Override
    public String name() {
        return "spark";
    }

    @Override
    public ShardedScoring connect(String master, int workers, WorkerModel model, EvalSettings settings, PrintStream out) {
        return SparkScoring.start(master, workers, model, settings, out);
    }
}
