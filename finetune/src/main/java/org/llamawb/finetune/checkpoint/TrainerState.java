package org.llamawb.finetune.checkpoint;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.llamawb.model.BadInputException;

/**
 * Where training stood when a checkpoint was written ({@code trainer_state.json}).
 *
 * @param step optimiser steps done
 * @param epoch epoch of the next micro-batch
 * @param batch index within that epoch of the next micro-batch
 * @param seed the run's seed; dropout and data order derive from it and the position, so no RNG
 *     stream needs saving
 * @param nonfiniteSkipped steps skipped for a NaN or infinite loss so far
 * @param nonfiniteInARow how many of the last steps in a row were skipped
 * @param trainedTokens tokens trained so far
 * @param losses training loss of every step so far (for resumed curves and plots)
 * @param bestEvalLoss lowest validation loss so far (NaN when none)
 * @param intraOpThreads libtorch's intra-op thread count when it was written (0: not recorded). CPU kernels
 *     split matmuls and reductions by it, so a run resumed under another count is not bitwise the same.
 * @param pendingMetrics the method's metrics added since the last logged step, as {sum, count} by name, so that a
 *     run resumed between two logged steps logs the same means as an uninterrupted one (absent: none)
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record TrainerState(long step, int epoch, long batch, long seed, long nonfiniteSkipped, int nonfiniteInARow,
        long trainedTokens, List<Double> losses, double bestEvalLoss, int intraOpThreads,
        Map<String, double[]> pendingMetrics) {

    static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(com.fasterxml.jackson.core.JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public TrainerState {
        losses = List.copyOf(losses);
        pendingMetrics = pendingMetrics == null ? Map.of() : Map.copyOf(pendingMetrics);
    }

    /** A state without pending metrics. */
    public TrainerState(long step, int epoch, long batch, long seed, long nonfiniteSkipped, int nonfiniteInARow,
            long trainedTokens, List<Double> losses, double bestEvalLoss, int intraOpThreads) {
        this(step, epoch, batch, seed, nonfiniteSkipped, nonfiniteInARow, trainedTokens, losses, bestEvalLoss,
                intraOpThreads, Map.of());
    }

    /** A state whose thread count is not recorded. */
    public TrainerState(long step, int epoch, long batch, long seed, long nonfiniteSkipped, int nonfiniteInARow,
            long trainedTokens, List<Double> losses, double bestEvalLoss) {
        this(step, epoch, batch, seed, nonfiniteSkipped, nonfiniteInARow, trainedTokens, losses, bestEvalLoss, 0);
    }

    public static TrainerState start(long seed) {
        return new TrainerState(0, 0, 0, seed, 0, 0, 0, List.of(), Double.NaN);
    }

    void write(Path file) throws IOException {
        JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), this);
    }

    static TrainerState read(Path file) {
        try {
            return JSON.readValue(file.toFile(), TrainerState.class);
        } catch (IOException e) {
            throw new BadInputException(file + ": not a readable trainer state (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
    }
}
