/**
 * Supervised fine-tuning as a {@link org.llamawb.finetune.train.TrainingMethod}: the causal-LM loss on
 * assistant tokens, micro-batches as the model consumes them, and the glue to the datasets module.
 */
package org.llamawb.finetune.sft;
