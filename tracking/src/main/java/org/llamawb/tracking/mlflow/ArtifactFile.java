package org.llamawb.tracking.mlflow;

/**
 * One entry of an artifact listing.
 *
 * @param path relative to the run's artifact root, with '/' separators
 * @param size bytes, or -1 for a directory
 */
public record ArtifactFile(String path, boolean isDir, long size) {}
