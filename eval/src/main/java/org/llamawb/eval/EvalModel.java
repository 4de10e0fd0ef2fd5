package org.llamawb.eval;

import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import org.llamawb.datasets.template.ChatTemplate;
import org.llamawb.datasets.template.ChatTemplates;
import org.llamawb.eval.score.RequestEncoder;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;
import org.llamawb.model.LoadedModel;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.weights.Checkpoint;

/**
 * The model under evaluation: weights, tokenizer, and the two tokenisation facts scoring depends on
 * (whether encodings start with BOS, and the window length).
 *
 * @param llama the network
 * @param tokenizer its tokenizer
 * @param name how reports and MLflow name it (the path the user gave)
 * @param addBos whether the tokenizer's default encoding adds BOS, as Hugging Face's would
 * @param maxLength the scoring window, {@code max_position_embeddings} unless overridden
 * @param stopIds token ids that end generation (the model's generation defaults)
 * @param templateSource where {@code template: model} reads the chat template
 *     ({@link LoadedModel#templateSource}), or null
 */
public record EvalModel(Llama llama, LlamaTokenizer tokenizer, String name, boolean addBos, int maxLength,
        Set<Integer> stopIds, Path templateSource) implements AutoCloseable {

    public EvalModel {
        if (maxLength < 2) {
            throw new BadInputException("max_length must be at least 2, got " + maxLength);
        }
        stopIds = Set.copyOf(stopIds);
    }

    /**
     * A model over an existing network and tokenizer, with the tokenizer's own BOS default; generation stops
     * at the configuration's EOS ids and the tokenizer's EOS.
     */
    public static EvalModel of(Llama llama, LlamaTokenizer tokenizer, String name) {
        Set<Integer> stops = new LinkedHashSet<>(llama.config().eosTokenIds());
        if (tokenizer.eosId() >= 0) {
            stops.add(tokenizer.eosId());
        }
        return new EvalModel(llama, tokenizer, name, RequestEncoder.tokenizerAddsBos(tokenizer),
                llama.config().maxPositionEmbeddings(), stops, null);
    }

    /**
     * Loads a checkpoint (Hugging Face directory, llama2.c file or GGUF) and its tokenizer as every command opens
     * one ({@link LoadedModel#open}): {@code tokenizer} when given, else the one beside the weights; the chat
     * template and stop ids are the ones training and generation use.
     */
    public static EvalModel load(Path model, Path tokenizer) {
        LoadedModel loaded = LoadedModel.open(model, tokenizer, "--tokenizer");
        Llama llama = loaded.model();
        return new EvalModel(llama, loaded.tokenizer(), model.toString(), RequestEncoder.tokenizerAddsBos(loaded.tokenizer()),
                llama.config().maxPositionEmbeddings(), loaded.stopIds(), loaded.templateSource());
    }

    /** The network of a checkpoint file or directory, in a manager of its own (closed with it). */
    public static Llama loadLlama(Path path) {
        return Llama.load(Checkpoint.open(path));
    }

    /** The same model scored with another window (e.g. {@code --max-length}). */
    public EvalModel withMaxLength(int n) {
        return new EvalModel(llama, tokenizer, name, addBos, n, stopIds, templateSource);
    }

    /** The same model with BOS forced on or off ({@code --add-bos}). */
    public EvalModel withAddBos(boolean b) {
        return new EvalModel(llama, tokenizer, name, b, maxLength, stopIds, templateSource);
    }

    /**
     * A chat template by name, from the datasets module: a built-in ({@code vicuna_v1.1}, {@code llama-2},
     * {@code chatml}, {@code none}, ...), {@code model} (this model's own {@code chat_template}) or a
     * {@code .jinja} file.
     */
    public ChatTemplate chatTemplate(String name) {
        return ChatTemplates.resolve(name, tokenizer, templateSource);
    }

    public RequestEncoder encoder() {
        return new RequestEncoder(tokenizer, addBos);
    }

    @Override
    public void close() {
        tokenizer.close();
        llama.close();
    }
}
