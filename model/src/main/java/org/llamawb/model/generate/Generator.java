package org.llamawb.model.generate;

import java.util.function.IntConsumer;
import org.llamawb.model.Llama;

/** Autoregressive generation of one sequence with the KV cache: prefill the prompt, then one token per step. */
public final class Generator {
    private final Llama model;

    public Generator(Llama model) {
        this.model = model;
    }

    /**
     * Generates after {@code prompt}; each new token is handed to {@code onToken} as soon as it is
     * chosen (stop tokens are not). Returns the new tokens.
     */
    public int[] generate(int[] prompt, Sampling sampling, IntConsumer onToken) {
        // A one-call session: its cache holds exactly the prompt and the reply.
        try (GenerationSession session = new GenerationSession(model, prompt.length + sampling.maxNewTokens())) {
            return session.generate(prompt, sampling, onToken);
        }
    }
}
