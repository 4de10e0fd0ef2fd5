/**
 * Token ids and loss labels: {@link org.llamawb.datasets.tokenize.ExampleEncoder} renders an example with a
 * chat template, tokenises it with the model's tokenizer ({@link org.llamawb.datasets.tokenize.OffsetEncoder}
 * adds each token's character span), trains exactly the tokens that cover the template's trained spans
 * (assistant answers and their end-of-turn markers), adds one BOS unless the template wrote it, and
 * applies {@code max_length} ({@link org.llamawb.datasets.tokenize.Truncation}) and {@code min_length},
 * counting every truncation and drop in {@link org.llamawb.datasets.tokenize.EncodeStats}.
 */
package org.llamawb.datasets.tokenize;
