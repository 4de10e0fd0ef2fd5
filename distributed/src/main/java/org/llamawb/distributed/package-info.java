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
 * summed loss, unscaled, with their unit counts (trained tokens, pairs or examples, as the method says); the driver
 * adds them in worker order, divides by the summed count (so the loss normalisation is the single process's:
 * {@code Σ loss / Σ units} over the whole global batch), and applies
 * {@link org.llamawb.finetune.train.TrainingStep#apply}, the clipping and AdamW step the single-process trainer takes. The driver holds the only optimiser state; the workers receive the new
 * values with the next step's broadcast, so all hold the same adapter by construction.
 *
 * <p><b>Which methods.</b> The offline ones: SFT (LoRA or every parameter), DPO, KTO and the reward model. The unit of
 * sharding is the micro-batch, computed whole by one worker with the dropout seed of its place in the step, so what a
 * method derives from a micro-batch's rows is what one process derives: DPO's reference log-probabilities (a pass
 * with the adapter switched off, or the frozen reference adapter, on the worker's replica; with
 * {@code dpo.precompute_ref_log_probs} each worker precomputes the training pairs when it opens its replica, as one
 * process does before its first step), KTO's KL estimate (its mismatched answers are fixed in dataset order
 * before training, and the estimate is the mean over the micro-batch's own rows, so no exchange between workers is
 * needed for it) and the reward model's scores. The reward model's {@code score} head is one of the trainable tensors,
 * broadcast and summed like the adapter's. A method's logged metrics (TRL's {@code rewards/margins}, {@code kl},
 * {@code accuracy}, ...) are means over the micro-batches since the last log: each worker sends the sums and counts of
 * each of its micro-batches, and the driver merges them in the step's micro-batch order into the method's
 * accumulator (which its checkpoints keep), so the logged means are the single process's. GRPO and PPO are refused:
 * their batches are completions the policy samples first (rollouts), which the workers would have to share too.
 *
 * <p><b>What the driver logs of the workers.</b> With each logged step, beside the loss and the method's metrics:
 * {@code data_parallel/step_seconds}, {@code data_parallel/exchange_seconds} and, for each worker N, its share's
 * {@code worker_N_seconds} and {@code worker_N_cpu_seconds} (the executor process's CPU time over the share), the
 * executor's {@code worker_N_peak_rss_mib} (VmHWM: the native model and activations are outside the heap) and
 * {@code worker_N_heap_used_mib}, returned with the gradients ({@link org.llamawb.distributed.WorkerProcess}).
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
