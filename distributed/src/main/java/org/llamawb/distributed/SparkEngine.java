package org.llamawb.distributed;

import java.io.PrintStream;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.train.ParallelGradients;

/** Apache Spark as the data-parallel engine of {@code workbench finetune --spark MASTER} (found by ServiceLoader). */
public final class SparkEngine implements ParallelGradients.Engine {

    @Override
    public String name() {
        return "spark";
    }

    @Override
    public ParallelGradients connect(String master, int workers, Recipe recipe, PrintStream out) {
        return SparkGradients.start(master, workers, recipe, out);
    }
}
