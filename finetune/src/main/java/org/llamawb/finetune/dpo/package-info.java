/**
 * Direct preference optimisation (TRL's sigmoid, ipo and hinge losses) against the base model with the
 * policy's adapter switched off as the reference, and the sequence log-probabilities preference losses
 * read.
 */
package org.llamawb.finetune.dpo;
