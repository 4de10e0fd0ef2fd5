/**
 * From a recipe's {@code data:} section ({@link org.llamawb.datasets.mix.DataOptions}) to training and
 * validation data: {@link org.llamawb.datasets.mix.DatasetBuilder} streams each source, drops exact
 * duplicates, splits by a stable {@link org.llamawb.datasets.mix.ContentHash}, encodes with the chat
 * template, mixes the sources by weight ({@link org.llamawb.datasets.mix.Mixture}) and accounts for every
 * example in a {@link org.llamawb.datasets.mix.DataReport}.
 */
package org.llamawb.datasets.mix;
