/**
 * Data-parallel fine-tuning on Apache Spark ({@code workbench finetune RECIPE --spark MASTER}), and evaluation
 * sharded over Spark executors ({@code workbench eval ... --spark MASTER}).
 *
 * <p><b>Shape.</b> The driver is the ordinary {@link org.llamawb.finetune.train.Trainer}: it keeps the data order,
 * the schedule, the optimiser, evaluation, checkpoints (written once, by it) and MLflow tracking. Only the forward
 * and backward passes move: each step it broadcasts the trainable values, and one Spark task per worker runs the
 * micro-batches of the step whose index modulo the workers is the worker's number (the order is the seeded,
 * resumable order every replica computes alike, so sharding needs no data shipped). An executor keeps one
 * {@link org.llamawb.finetune.train.Replica} per recipe in a static cache: the frozen base and the encoded data
 * are loaded by the first task and kept across steps. Each task returns the gradient of its micro-batches'
 * summed loss, unscaled, with their trained-token counts; the driver adds them in worker order, divides by the
 * summed count (so the loss normalisation is the single process's: {@code Σ loss / Σ trained tokens} over the
 * whole global batch), and applies {@link org.llamawb.finetune.train.TrainingStep#apply}, the clipping and AdamW
 * step the single-process trainer takes. The driver holds the only optimiser state; the workers receive the new
 * values with the next step's broadcast, so all hold the same adapter by construction.
 *
 * <p><b>The all-reduce.</b> A reduce of float arrays through Spark's own result path: task results above
 * {@code spark.task.maxDirectResultSize} travel through the block manager, the adapter goes out by
 * {@code broadcast} (torrent, executor to executor). The workers' arrays are added on the driver in worker
 * order rather than by {@code reduce}/{@code treeAggregate}, whose merge order follows task completion and would
 * make the last bits of the sum (and so the run) depend on timing. Measured with two executor JVMs here
 * ({@link org.llamawb.distributed.AllReduceBench}, {@code bench/BENCHMARKS.md}, on a machine at load 20): a fixed
 * ~1.4 s per step (Spark job scheduling on saturated cores; 4 KB cost as much as 1 MB) plus ~71 ms per MB of
 * adapter (8.4 MB, a 15M model's LoRA r 64: 2.0 s; 80 MB, a 7B model's LoRA r 8: 7.1 s). A run prints its own
 * figures when it ends. At that fixed cost a small model gains nothing from Spark; a large one, whose step
 * takes minutes, does. When the driver's N incoming gradients dominate, a tree or ring exchange between the
 * executors would be the next step.
 *
 * <p><b>Evaluation</b> ({@code workbench eval ... --spark MASTER}, {@link org.llamawb.distributed.SparkScoring}) is
 * simpler: no state moves after the start. An opening job has every executor load the model into a static cache
 * ({@link org.llamawb.distributed.ExecutorEvalModels}); then each task is one job of one Spark task per worker, worker
 * {@code i} scoring the {@code i}-th contiguous range of the task's examples with
 * {@link org.llamawb.eval.run.TaskRunners#score}, the single process's code, and returning per-example records; the
 * driver merges them in worker order (the file's order) with {@link org.llamawb.eval.run.TaskRunners#merge} and
 * writes the single process's report. An adapter is attached on the executors when a task asks for one and stays
 * until another is asked for, so {@code --compare-adapter} attaches it once per executor.
 *
 * <p><b>Why Spark is not a dependency of the command line.</b> The {@code cli} module knows only the
 * {@link org.llamawb.finetune.train.ParallelGradients.Engine} and {@link org.llamawb.eval.run.ShardedScoring.Engine}
 * interfaces and finds {@link org.llamawb.distributed.SparkEngine} and {@link org.llamawb.distributed.SparkEvalEngine}
 * with {@link java.util.ServiceLoader} when {@code --spark} is given; without
 * this module on the class path it says how to get it. Spark (with Scala and Hadoop's client, some 150 MB of jars)
 * is thus downloaded and loaded only by those who scale out, and a single-machine user's jar stays as it was.
 *
 * <p><b>{@code local-cluster[N,C,MB]}.</b> Spark's test master starts N executor JVMs on this machine through a
 * worker that builds their command line from {@code SPARK_HOME/jars}. The workbench gives the executors the
 * driver's own class path instead and sets {@code SPARK_TESTING=1} in their environment, which is what lets
 * Spark's launcher go on without a {@code jars} folder; no Spark distribution is needed for it (tests, demos).
 */
package org.llamawb.distributed;
