package org.llamawb.model;

import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.function.Consumer;
import org.llamawb.model.generate.GenerationDefaults;
import org.llamawb.model.quant.FrozenStorage;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.weights.Checkpoint;

/**
 * A model opened with what must be the same wherever it is used, training, evaluation, generation and chat:
 * its tokenizer, where its chat template is read, and the ids that end generation. Every command opens a
 * checkpoint here, so training and evaluation cannot render a conversation differently.
 *
 * <p>The tokenizer is the one named ({@code --tokenizer}, {@code model.tokenizer}) or the one found beside
 * the weights ({@link LlamaTokenizer#forCheckpoint}): a Hugging Face directory's, a GGUF file's own
 * vocabulary, a llama2.c checkpoint's {@code tokenizer.bin}/{@code tok<vocab>.bin}/{@code tokenizer.model}.
 * One with more tokens than the model has embeddings is refused there, in one line naming both sizes.
 *
 * @param model the network
 * @param tokenizer its tokenizer; null only from {@link #openWeights} when the model has none
 * @param templateSource where {@code template: model} reads the chat template ({@link #templateSource})
 * @param generation the model's generation defaults, whose stop ids include the tokenizer's EOS
 */
public record LoadedModel(Llama model, LlamaTokenizer tokenizer, Path templateSource, GenerationDefaults generation)
        implements AutoCloseable {

    public LoadedModel {
        if (tokenizer != null && tokenizer.eosId() >= 0 && !generation.stopIds().contains(tokenizer.eosId())) {
            // a model whose generation_config.json omits its tokenizer's EOS still ends an answer there,
            // as lm-eval's until-EOS and chat front ends do
            Set<Integer> stops = new LinkedHashSet<>(generation.stopIds());
            stops.add(tokenizer.eosId());
            generation = new GenerationDefaults(stops, generation.temperature(), generation.topP(), generation.topK());
        }
    }

    /**
     * Opens a checkpoint (Hugging Face directory, llama2.c file, GGUF) with its tokenizer; the weights go into a
     * sub-manager of {@code parent}, closed with the model.
     *
     * @param tokenizer a tokenizer to use instead of the one beside the model, or null
     * @param tokenizerKey what the user calls {@code tokenizer} ({@code --tokenizer}, {@code model.tokenizer}),
     *     for messages
     */
    public static LoadedModel open(Path model, Path tokenizer, String tokenizerKey, NDManager parent) {
        return open(model, tokenizer, tokenizerKey, parent, FrozenStorage.FLOAT32);
    }

    /**
     * As {@link #open(Path, Path, String, NDManager)}, the weights held as {@code storage} says ({@code model.dtype},
     * {@code model.quantize}), each tensor converted as it is read: the float32 model never exists whole.
     */
    public static LoadedModel open(Path model, Path tokenizer, String tokenizerKey, NDManager parent,
            FrozenStorage storage) {
        Checkpoint c = Checkpoint.open(model);
        LlamaTokenizer tok = tokenizer(c, tokenizer, tokenizerKey);
        return withWeights(c, tok, tokenizer, parent, storage);
    }

    /** As {@link #open(Path, Path, String, NDManager)}, the weights in a manager of the model's own. */
    public static LoadedModel open(Path model, Path tokenizer, String tokenizerKey) {
        Checkpoint c = Checkpoint.open(model);
        LlamaTokenizer tok = tokenizer(c, tokenizer, tokenizerKey);
        return withWeights(c, tok, tokenizer, null, FrozenStorage.FLOAT32);
    }

    /**
     * As {@link #open(Path, Path, String, NDManager)} for commands that only move weights around: when no
     * tokenizer was named and none fits beside the model, it opens without one ({@code tokenizer()} null) and
     * tells {@code note} why.
     */
    public static LoadedModel openWeights(Path model, Path tokenizer, String tokenizerKey, NDManager parent,
            Consumer<String> note) {
        return openWeights(model, tokenizer, tokenizerKey, parent, note, FrozenStorage.FLOAT32);
    }

    /** As {@link #openWeights(Path, Path, String, NDManager, Consumer)}, the weights held as {@code storage} says. */
    public static LoadedModel openWeights(Path model, Path tokenizer, String tokenizerKey, NDManager parent,
            Consumer<String> note, FrozenStorage storage) {
        Checkpoint c = Checkpoint.open(model);
        LlamaTokenizer tok = null;
        try {
            tok = LlamaTokenizer.forCheckpoint(c, tokenizer, tokenizerKey);
        } catch (BadInputException e) {
            if (tokenizer != null) {
                c.close();
                throw e;
            }
            note.accept(e.getMessage() + "; continuing without a tokenizer");
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
        return withWeights(c, tok, tokenizer, parent, storage);
    }

    /**
     * Where {@code template: model} reads the chat template: the named tokenizer's location when one was named,
     * else where the model's own tokenizer comes from (the Hugging Face or llama2.c directory, the GGUF file).
     * The template belongs to the tokenizer, as in transformers: the {@code tokenizer_config.json} (or
     * {@code chat_template.jinja}) in that folder, else the template the tokenizer carries (GGUF metadata).
     */
    public static Path templateSource(Checkpoint c, Path explicitTokenizer) {
        if (explicitTokenizer != null) {
            return explicitTokenizer;
        }
        return c.format() == Checkpoint.Format.GGUF ? c.location() : c.directory();
    }

    /** The checkpoint's tokenizer, the checkpoint closed when there is none that fits. */
    private static LlamaTokenizer tokenizer(Checkpoint c, Path explicit, String key) {
        try {
            return LlamaTokenizer.forCheckpoint(c, explicit, key);
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    private static LoadedModel withWeights(Checkpoint c, LlamaTokenizer tok, Path explicitTokenizer, NDManager parent,
            FrozenStorage storage) {
        GenerationDefaults generation;
        Llama llama;
        try {
            generation = GenerationDefaults.of(c);
        } catch (RuntimeException e) {
            c.close();
            if (tok != null) {
                tok.close();
            }
            throw e;
        }
        try {
            llama = parent == null ? Llama.load(c, storage) : Llama.load(c, parent, storage); // closes the checkpoint when it fails
        } catch (RuntimeException e) {
            if (tok != null) {
                tok.close();
            }
            throw e;
        }
        return new LoadedModel(llama, tok, templateSource(c, explicitTokenizer), generation);
    }

    /** The ids that end generation (the generation defaults', EOS among them). */
    public Set<Integer> stopIds() {
        return generation.stopIds();
    }

    @Override
    public void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
        model.close();
    }
}
