/**
 * Synthetic data with answers that can be checked: tasks the workbench generates itself, so that learning from
 * rule rewards (GRPO, PPO) or from preference pairs (DPO) can be measured without a judge. Output is JSONL in the
 * shapes the readers of {@code org.llamawb.datasets.source} accept.
 */
package org.llamawb.datasets.synthetic;
