package org.llamawb.eval.task;

import java.util.List;

/**
 * The requests one example makes.
 *
 * @param index the example's position in its file (0-based)
 * @param line its line in the file
 * @param requests one per choice (multiple_choice, partial_choice) or one (completion)
 * @param gold the index of the right request, -1 for completion
 * @param normTexts the texts acc_norm divides by (lm-evaluation-harness' doc_to_choice: the choices, or the
 *     context options for partial_choice); empty for completion
 */
public record Question(int index, int line, List<Request> requests, int gold, List<String> normTexts) {
    public Question {
        requests = List.copyOf(requests);
        normTexts = List.copyOf(normTexts);
    }
}
