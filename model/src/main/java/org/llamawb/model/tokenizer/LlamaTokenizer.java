package org.llamawb.model.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;
import org.llamawb.model.BadInputException;

/**
 * A LLaMA tokenizer, always run by Hugging Face tokenizers (through DJL) from a {@code tokenizer.json}.
 *
 * <p>Other vocabularies (SentencePiece {@code tokenizer.model}, llama2.c {@code tokenizer.bin}, GGUF)
 * are converted to an equivalent {@code tokenizer.json} first, so there is one tokenizer implementation.
 * Special tokens written in the text (e.g. {@code </s>} in a rendered chat template) encode to their ids.
 */
public final class LlamaTokenizer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HuggingFaceTokenizer hf;
    private final String tokenizerJson;
    private final String[] pieces;
    private final Map<String, Integer> ids;
    private final int bosId;
    private final int eosId;

    private LlamaTokenizer(String tokenizerJson, String source, int bosId, int eosId) {
        this.tokenizerJson = tokenizerJson;
        JsonNode root;
        try {
            root = JSON.readTree(tokenizerJson);
        } catch (IOException e) {
            throw new BadInputException(source + ": not a valid tokenizer.json (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        JsonNode vocab = root.path("model").path("vocab");
        if (!vocab.isObject()) {
            throw new BadInputException(source + ": tokenizer.json has no model.vocab object");
        }
        ids = new HashMap<>();
        int max = -1;
        for (var it = vocab.fields(); it.hasNext(); ) {
            var e = it.next();
            ids.put(e.getKey(), e.getValue().asInt());
            max = Math.max(max, e.getValue().asInt());
        }
        for (JsonNode t : root.path("added_tokens")) {
            ids.put(t.path("content").asText(), t.path("id").asInt());
            max = Math.max(max, t.path("id").asInt());
        }
        pieces = new String[max + 1];
        ids.forEach((p, i) -> pieces[i] = p);
        this.bosId = bosId >= 0 ? bosId : ids.getOrDefault("<s>", -1);
        this.eosId = eosId >= 0 ? eosId : ids.getOrDefault("</s>", -1);
        try {
            // No special tokens are added by DJL: BOS is our decision (see encode), never the post-processor's.
            hf = HuggingFaceTokenizer.newInstance(
                    new ByteArrayInputStream(tokenizerJson.getBytes(StandardCharsets.UTF_8)),
                    Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
        } catch (IOException | RuntimeException e) {
            throw new BadInputException(source + ": Hugging Face tokenizers rejected it: " + e.getMessage());
        }
    }

    /** A tokenizer from the text of a {@code tokenizer.json}; {@code source} names it in errors. */
    public static LlamaTokenizer fromJson(String tokenizerJson, String source) {
        return new LlamaTokenizer(tokenizerJson, source, -1, -1);
    }

    /** Loads {@code tokenizer.json} from a file or a model directory. */
    public static LlamaTokenizer load(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file + ": tokenizer not found");
        }
        try {
            return fromJson(Files.readString(file, StandardCharsets.UTF_8), file.toString());
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read (" + e.getMessage() + ")");
        }
    }

    /** Token ids of {@code text}; a BOS id first when {@code addBos}. Never adds EOS. */
    public int[] encode(String text, boolean addBos) {
        Encoding enc = hf.encode(text, false, false);
        long[] raw = enc.getIds();
        int off = addBos ? 1 : 0;
        int[] out = new int[raw.length + off];
        if (addBos) {
            out[0] = bosId;
        }
        for (int i = 0; i < raw.length; i++) {
            out[i + off] = (int) raw[i];
        }
        return out;
    }

    /** The text of {@code ids}, special tokens included as written. */
    public String decode(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return hf.decode(l, false);
    }

    /** The vocabulary piece of {@code id} as stored (SentencePiece pieces use U+2581 for spaces). */
    public String piece(int id) {
        if (id < 0 || id >= pieces.length || pieces[id] == null) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary");
        }
        return pieces[id];
    }

    /** The id of a vocabulary piece, if present. */
    public OptionalInt id(String piece) {
        Integer i = ids.get(piece);
        return i == null ? OptionalInt.empty() : OptionalInt.of(i);
    }

    public int vocabSize() {
        return pieces.length;
    }

    public int bosId() {
        return bosId;
    }

    public int eosId() {
        return eosId;
    }

    /** The {@code tokenizer.json} text this tokenizer runs, e.g. to write it into a model directory. */
    public String tokenizerJson() {
        return tokenizerJson;
    }

    @Override
    public void close() {
        hf.close();
    }
}
