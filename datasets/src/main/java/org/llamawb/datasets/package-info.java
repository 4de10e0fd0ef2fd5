/**
 * Dialogue, instruction and preference data for fine-tuning: reading the field's file formats
 * ({@code source}), chat templates ({@code template}), tokenisation with loss masks ({@code tokenize}),
 * mixtures, splits and filters ({@code mix}), batches for the training loop ({@code batch}) and the
 * {@code workbench data inspect|validate} back end ({@code inspect}).
 *
 * <p>Flow: {@code DatasetReader} streams {@code Example}s out of a file, a {@code ChatTemplate} renders a
 * conversation with its trained character spans, {@code ExampleEncoder} turns that into token ids and
 * labels, {@code TokenizedDataset} holds the result compactly, and a {@code DataLoader} yields
 * {@code Batch}es in a seeded order that can be resumed from a {@code LoaderPosition}.
 */
package org.llamawb.datasets;
