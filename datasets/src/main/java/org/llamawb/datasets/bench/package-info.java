/**
 * Throughput harness for the data path ({@code workbench data bench}): examples and tokens per second for
 * reading + templating + tokenising + labelling, and for packing and building batches.
 */
package org.llamawb.datasets.bench;
