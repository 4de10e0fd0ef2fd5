package org.llamawb.datasets.mix;

/** The training split (mixed by weight), the held-out split, and the account of how they were made. */
public record PreparedData<D>(D train, D validation, DataReport report) {}
