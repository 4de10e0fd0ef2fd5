/**
 * Reward models: a frozen LLaMA base, a LoRA reward adapter and a scalar head {@code score} read at the last
 * token of each sequence — Hugging Face's {@code LlamaForSequenceClassification} with {@code num_labels=1}
 * ({@link org.llamawb.adapters.score.RewardModel}) — and the pairwise (Bradley–Terry) loss that trains one
 * ({@link org.llamawb.adapters.score.RewardLoss}). Saved as a PEFT {@code SEQ_CLS} adapter with the head in
 * {@code modules_to_save}, so transformers + PEFT load it and give the same scores.
 */
package org.llamawb.adapters.score;
