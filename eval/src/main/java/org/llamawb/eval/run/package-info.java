/**
 * Running evaluations: one runner per task kind, the {@link org.llamawb.eval.run.Evaluator} that runs a list
 * of tasks on a model and writes the report, the eval recipe, and the hooks for adapters and MLflow. Every runner
 * is cut at the example ({@link org.llamawb.eval.run.TaskRunners}: score a shard of the examples, merge the shards'
 * records into metrics), which is where {@link org.llamawb.eval.run.ShardedScoring} spreads a task over a cluster.
 */
package org.llamawb.eval.run;
