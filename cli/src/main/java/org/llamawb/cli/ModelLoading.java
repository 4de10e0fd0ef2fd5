package org.llamawb.cli;

import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import org.llamawb.model.AttentionImplementation;
import org.llamawb.model.Llama;
import org.llamawb.model.generate.GenerationDefaults;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.weights.Checkpoint;

/** Opens the model a command names (Hugging Face directory, llama2.c checkpoint, GGUF) with its tokenizer. */
final class ModelLoading {
    private ModelLoading() {}

    /** A loaded model with what belongs to it. */
    record Loaded(Llama model, LlamaTokenizer tokenizer, GenerationDefaults generation, Checkpoint checkpoint)
            implements AutoCloseable {
        @Override
        public void close() {
            if (tokenizer != null) {
                tokenizer.close();
            }
            model.close(); // closes the checkpoint too
        }
    }

    static Llama load(Path path, NDManager manager) {
        return Llama.load(Checkpoint.open(path), manager);
    }

    /** Model, tokenizer ({@code tokenizer} overrides the one found beside the model) and generation defaults. */
    static Loaded open(Path path, Path tokenizer, String attention, NDManager manager) {
        return open(path, tokenizer, attention, manager, true);
    }

    /**
     * As {@link #open(Path, Path, String, NDManager)}; with {@code tokenizerRequired} false a model without
     * a tokenizer loads with a null tokenizer (commands that only move weights around).
     */
    static Loaded open(Path path, Path tokenizer, String attention, NDManager manager, boolean tokenizerRequired) {
        Checkpoint c = Checkpoint.open(path);
        LlamaTokenizer tok = null;
        try {
            tok = LlamaTokenizer.forCheckpoint(c, tokenizer); // refuses a vocabulary larger than the model's
        } catch (org.llamawb.model.BadInputException e) {
            if (tokenizerRequired || tokenizer != null || tok != null) {
                c.close();
                throw e;
            }
            System.err.println("note: " + e.getMessage() + "; continuing without a tokenizer");
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
        Llama model = Llama.load(c, manager);
        model.setAttentionImplementation(attention(attention));
        return new Loaded(model, tok, GenerationDefaults.of(c), c);
    }

    static AttentionImplementation attention(String name) {
        return switch (name == null ? "fused" : name) {
            case "fused" -> AttentionImplementation.FUSED;
            case "explicit" -> AttentionImplementation.EXPLICIT;
            default -> throw new UsageException("--attention: expected fused or explicit, got '" + name + "'");
        };
    }
}
