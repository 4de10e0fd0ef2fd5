package org.llamawb.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.llamawb.eval.score.RequestEncoder;
import org.llamawb.model.BadInputException;
import org.llamawb.model.Llama;
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
 */
public record EvalModel(Llama llama, LlamaTokenizer tokenizer, String name, boolean addBos, int maxLength)
        implements AutoCloseable {

    public EvalModel {
        if (maxLength < 2) {
            throw new BadInputException("max_length must be at least 2, got " + maxLength);
        }
    }

    /** A model over an existing network and tokenizer, with the tokenizer's own BOS default. */
    public static EvalModel of(Llama llama, LlamaTokenizer tokenizer, String name) {
        return new EvalModel(llama, tokenizer, name, RequestEncoder.tokenizerAddsBos(tokenizer),
                llama.config().maxPositionEmbeddings());
    }

    /**
     * Loads a checkpoint (Hugging Face directory or llama2.c file) and its tokenizer: {@code tokenizer} when
     * given, else the {@code tokenizer.json} beside the weights.
     */
    public static EvalModel load(Path model, Path tokenizer) {
        Llama llama = loadLlama(model);
        try {
            return of(llama, loadTokenizer(model, tokenizer), model.toString());
        } catch (RuntimeException e) {
            llama.close();
            throw e;
        }
    }

    /** The network of a checkpoint, every tensor read into a manager the model owns. */
    public static Llama loadLlama(Path path) {
        Checkpoint c = Checkpoint.open(path);
        NDManager manager = NDManager.newBaseManager();
        try {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (String name : Llama.expectedShapes(c.config()).keySet()) {
                tensors.put(name, c.weights().load(name, manager));
            }
            return Llama.of(c.config(), manager, tensors, c);
        } catch (RuntimeException e) {
            manager.close();
            c.close();
            throw e;
        }
    }

    private static LlamaTokenizer loadTokenizer(Path model, Path tokenizer) {
        if (tokenizer != null) {
            return LlamaTokenizer.load(tokenizer);
        }
        Path dir = Files.isDirectory(model) ? model : model.toAbsolutePath().getParent();
        Path json = dir.resolve("tokenizer.json");
        if (Files.isRegularFile(json)) {
            return LlamaTokenizer.load(json);
        }
        throw new BadInputException(model + ": no tokenizer.json beside the model; name one with --tokenizer");
    }

    /** The same model scored with another window (e.g. {@code --max-length}). */
    public EvalModel withMaxLength(int n) {
        return new EvalModel(llama, tokenizer, name, addBos, n);
    }

    /** The same model with BOS forced on or off ({@code --add-bos}). */
    public EvalModel withAddBos(boolean b) {
        return new EvalModel(llama, tokenizer, name, b, maxLength);
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
