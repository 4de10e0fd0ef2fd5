/**
 * Kahneman-Tversky optimisation (TRL's KTO loss) on answers labelled desirable or undesirable, against
 * the base model with the policy's adapter switched off, with the KL estimate from mismatched
 * prompt/answer pairs as TRL builds them.
 */
package org.llamawb.finetune.kto;
