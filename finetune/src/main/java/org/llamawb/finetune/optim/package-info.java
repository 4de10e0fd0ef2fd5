/** AdamW with decoupled weight decay, learning-rate schedules and global-norm gradient clipping. */
package org.llamawb.finetune.optim;
