/**
 * Running evaluations: one runner per task kind, the {@link org.llamawb.eval.run.Evaluator} that runs a list
 * of tasks on a model and writes the report, the eval recipe, and the hooks for adapters and MLflow.
 */
package org.llamawb.eval.run;
