package org.llamawb.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Set;
import org.llamawb.model.progress.Progress;
import org.llamawb.model.weights.TensorInfo;
import org.llamawb.model.weights.WeightSource;

/**
 * A weight source that counts each tensor read on a {@link Progress} display, for commands that stream a
 * whole checkpoint through a writer (conversion). It closes neither the source nor the display: the caller
 * owns both.
 */
final class WeightsWithProgress implements WeightSource {
    private final WeightSource weights;
    private final Progress progress;

    WeightsWithProgress(WeightSource weights, Progress progress) {
        this.weights = weights;
        this.progress = progress;
    }

    @Override
    public Set<String> names() {
        return weights.names();
    }

    @Override
    public TensorInfo info(String name) {
        return weights.info(name);
    }

    @Override
    public NDArray load(String name, NDManager manager) {
        NDArray a = weights.load(name, manager);
        progress.advance(1);
        return a;
    }

    @Override
    public String description() {
        return weights.description();
    }

    @Override
    public void close() {
        // the caller closes the source it opened
    }
}
