/**
 * Dialogue, instruction and preference data for fine-tuning: reading the field's file formats from JSON,
 * JSON lines or Parquet, with column mappings for differently named fields ({@code source}), chat templates ({@code template}), tokenisation with loss masks ({@code tokenize}),
 * mixtures, splits and filters ({@code mix}), batches for the training loop ({@code batch}), the
 * {@code workbench data inspect|validate} back end ({@code inspect}) and the throughput harness
 * ({@code bench}).
 *
 * <p>Flow: a recipe's {@code data:} section binds to {@code DataOptions}; {@code DatasetBuilder} streams
 * each file through {@code DatasetReader} into {@code Example}s, drops duplicates, splits by content hash,
 * renders each conversation with a {@code ChatTemplate} (trained character spans marked),
 * {@code ExampleEncoder} turns that into token ids and labels, {@code TokenizedDataset} holds the result
 * compactly, mixed by weight, and a {@code DataLoader} yields {@code Batch}es in a seeded order that can
 * be resumed from a {@code LoaderPosition}.
 */
package org.llamawb.datasets;
