package org.llamawb.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.llamawb.datasets.template.ChatTemplate;
import org.llamawb.datasets.template.ChatTemplates;
import org.llamawb.eval.score.RequestEncoder;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;
import org.llamawb.model.generate.GenerationDefaults;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.LlamaLayout;

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
 * @param tokenizerLocation where the tokenizer came from (its {@code tokenizer_config.json} holds the model's
 *     chat template), or null
 */
public record EvalModel(Llama llama, LlamaTokenizer tokenizer, String name, boolean addBos, int maxLength,
        Set<Integer> stopIds, Path tokenizerLocation) implements AutoCloseable {

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
     * Loads a checkpoint (Hugging Face directory, llama2.c file or GGUF) and its tokenizer: {@code tokenizer}
     * when given, else the one beside the weights ({@code LlamaTokenizer.forCheckpoint}).
     */
    public static EvalModel load(Path model, Path tokenizer) {
        Checkpoint c = Checkpoint.open(model);
        LlamaTokenizer tok;
        try {
            tok = LlamaTokenizer.forCheckpoint(c, tokenizer);
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
        try {
            Set<Integer> stops = GenerationDefaults.of(c).stopIds();
            Llama llama = loadLlama(c);
            EvalModel m = of(llama, tok, model.toString());
            Path location = tokenizer != null ? tokenizer : c.format() == Checkpoint.Format.HUGGING_FACE ? c.directory() : c.location();
            return new EvalModel(llama, tok, m.name(), m.addBos(), m.maxLength(), stops, location);
        } catch (RuntimeException e) {
            tok.close();
            throw e;
        }
    }

    /** The network of a checkpoint file or directory. */
    public static Llama loadLlama(Path path) {
        return loadLlama(Checkpoint.open(path));
    }

    /** The network of an open checkpoint, every tensor read into a manager the model owns (closed with it). */
    static Llama loadLlama(Checkpoint c) {
        NDManager manager = NDManager.newBaseManager();
        try {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (String name : LlamaLayout.expected(c.config()).keySet()) {
                tensors.put(name, c.weights().load(name, manager));
            }
            return Llama.of(c.config(), manager, tensors, c);
        } catch (RuntimeException e) {
            manager.close();
            c.close();
            throw e;
        }
    }

    /** The same model scored with another window (e.g. {@code --max-length}). */
    public EvalModel withMaxLength(int n) {
        return new EvalModel(llama, tokenizer, name, addBos, n, stopIds, tokenizerLocation);
    }

    /** The same model with BOS forced on or off ({@code --add-bos}). */
    public EvalModel withAddBos(boolean b) {
        return new EvalModel(llama, tokenizer, name, b, maxLength, stopIds, tokenizerLocation);
    }

    /**
     * A chat template by name, from the datasets module: a built-in ({@code vicuna_v1.1}, {@code llama-2},
     * {@code chatml}, {@code none}, ...), {@code model} (this model's own {@code chat_template}) or a
     * {@code .jinja} file.
     */
    public ChatTemplate chatTemplate(String name) {
        return ChatTemplates.resolve(name, tokenizer, tokenizerLocation);
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
