package org.llamawb.model.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.llamawb.model.BadInputException;
import org.llamawb.model.gguf.GgufFile;

/**
 * A LLaMA tokenizer, always run by Hugging Face tokenizers (through DJL) from a {@code tokenizer.json}.
 *
 * <p>Other vocabularies (SentencePiece {@code tokenizer.model}, llama2.c {@code tokenizer.bin}, GGUF)
 * are converted to an equivalent {@code tokenizer.json} first ({@link LlamaTokenizerJson}), so there is
 * one tokenizer implementation. Special tokens written in the text (e.g. {@code </s>} in a rendered chat
 * template) encode to their ids.
 */
public final class LlamaTokenizer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HuggingFaceTokenizer hf;
    private final String tokenizerJson;
    private final JsonNode root;
    private final String source;
    private final String[] pieces;
    private final Map<String, Integer> ids;
    private final int bosId;
    private final int eosId;
    private final String chatTemplate;
    private final int modelMaxLength;
    /** The SentencePiece view when converted from one; rebuilt from the JSON on demand otherwise. */
    private SpmVocabulary vocabulary;

    private LlamaTokenizer(String tokenizerJson, String source, String bosToken, String eosToken,
            SpmVocabulary vocabulary, String chatTemplate, int modelMaxLength) {
        this.tokenizerJson = tokenizerJson;
        this.source = source;
        this.vocabulary = vocabulary;
        this.chatTemplate = chatTemplate;
        this.modelMaxLength = modelMaxLength;
        try {
            root = JSON.readTree(tokenizerJson);
        } catch (IOException e) {
            throw new BadInputException(source + ": not a valid tokenizer.json (" + firstLine(e.getMessage()) + ")");
        }
        JsonNode vocab = root == null ? null : root.path("model").path("vocab");
        if (vocab == null || !vocab.isObject()) {
            throw new BadInputException(source + ": tokenizer.json has no model.vocab object");
        }
        ids = new HashMap<>();
        int max = -1;
        for (var it = vocab.fields(); it.hasNext(); ) {
            var e = it.next();
            max = Math.max(max, checkedId(e.getValue(), e.getKey()));
            ids.put(e.getKey(), e.getValue().asInt());
        }
        for (JsonNode t : root.path("added_tokens")) {
            String content = t.path("content").asText();
            max = Math.max(max, checkedId(t.path("id"), content));
            ids.put(content, t.path("id").asInt());
        }
        pieces = new String[max + 1];
        ids.forEach((p, i) -> pieces[i] = p);
        this.bosId = bosToken == null ? -1 : ids.getOrDefault(bosToken, -1);
        this.eosId = eosToken == null ? -1 : ids.getOrDefault(eosToken, -1);
        try {
            // No special tokens are added by DJL: BOS is our decision (see encode), never the post-processor's.
            hf = HuggingFaceTokenizer.newInstance(
                    new ByteArrayInputStream(tokenizerJson.getBytes(StandardCharsets.UTF_8)),
                    Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
        } catch (IOException | RuntimeException e) {
            throw new BadInputException(source + ": Hugging Face tokenizers rejected it: " + firstLine(e.getMessage()));
        }
    }

    private int checkedId(JsonNode id, String piece) {
        // A garbage id must not become a huge pieces[] allocation.
        if (!id.canConvertToInt() || id.asInt() < 0 || id.asInt() > 10_000_000) {
            throw new BadInputException(source + ": token '" + piece + "' has an invalid id " + id);
        }
        return id.asInt();
    }

    /** A tokenizer from the text of a {@code tokenizer.json}; {@code source} names it in errors. */
    public static LlamaTokenizer fromJson(String tokenizerJson, String source) {
        return new LlamaTokenizer(tokenizerJson, source, "<s>", "</s>", null, null, -1);
    }

    /** A tokenizer for a SentencePiece-style vocabulary, converted to {@code tokenizer.json}. */
    public static LlamaTokenizer fromVocabulary(SpmVocabulary v, String source, String chatTemplate) {
        return fromVocabulary(v, source, chatTemplate, -1);
    }

    private static LlamaTokenizer fromVocabulary(SpmVocabulary v, String source, String chatTemplate, int maxLen) {
        return new LlamaTokenizer(LlamaTokenizerJson.of(v), source,
                v.bosId() >= 0 ? v.pieces().get(v.bosId()) : null, v.eosId() >= 0 ? v.pieces().get(v.eosId()) : null,
                v, chatTemplate, maxLen);
    }

    /**
     * The tokenizer that goes with a checkpoint: {@code explicit} when given; else the Hugging Face
     * directory's own, the GGUF file's vocabulary, or for a llama2.c checkpoint a {@code tokenizer.bin},
     * {@code tok<vocab>.bin}, {@code tokenizer.model} or {@code tok<vocab>.model} beside it.
     */
    public static LlamaTokenizer forCheckpoint(org.llamawb.model.weights.Checkpoint c, Path explicit) {
        return forCheckpoint(c, explicit, "--tokenizer");
    }

    /**
     * As {@link #forCheckpoint(org.llamawb.model.weights.Checkpoint, Path)}; {@code explicitKey} is what
     * the caller calls {@code explicit} ({@code --tokenizer}, the recipe key {@code model.tokenizer}), so the
     * errors name what the user can set. A tokenizer with more tokens than the model has embeddings is
     * refused here: its high ids would otherwise fail deep inside libtorch ("index out of range in self").
     */
    public static LlamaTokenizer forCheckpoint(org.llamawb.model.weights.Checkpoint c, Path explicit, String explicitKey) {
        LlamaTokenizer tok = find(c, explicit, explicitKey);
        int modelVocab = c.config().vocabSize();
        if (tok.vocabSize() > modelVocab) {
            int n = tok.vocabSize();
            tok.close();
            throw new BadInputException((explicit != null ? explicitKey + " " + explicit : "the tokenizer beside " + c.location())
                    + " has " + n + " tokens but the model " + c.location() + " has vocab_size " + modelVocab
                    + ": use the tokenizer the model was trained with");
        }
        return tok;
    }

    private static LlamaTokenizer find(org.llamawb.model.weights.Checkpoint c, Path explicit, String explicitKey) {
        if (explicit != null) {
            return load(explicit);
        }
        switch (c.format()) {
            case HUGGING_FACE:
                return load(c.directory());
            case GGUF:
                return load(c.location());
            default:
                int v = c.config().vocabSize();
                for (String name : new String[] {"tokenizer.bin", "tok" + v + ".bin", "tokenizer.model", "tok" + v + ".model"}) {
                    Path p = c.directory().resolve(name);
                    if (Files.isRegularFile(p)) {
                        return load(p);
                    }
                }
                throw new BadInputException(c.location() + ": no tokenizer beside this llama2.c checkpoint (looked for "
                        + "tokenizer.bin, tok" + v + ".bin, tokenizer.model); set " + explicitKey);
        }
    }

    /**
     * Loads a tokenizer from a model directory ({@code tokenizer.json}, else {@code tokenizer.model}),
     * a {@code tokenizer.json} (with the {@code tokenizer_config.json} beside it, when present), a
     * SentencePiece {@code tokenizer.model}, a llama2.c {@code tokenizer.bin} or a {@code .gguf} file.
     */
    public static LlamaTokenizer load(Path path) {
        if (Files.isDirectory(path)) {
            for (String name : new String[] {"tokenizer.json", "tokenizer.model"}) {
                if (Files.isRegularFile(path.resolve(name))) {
                    return load(path.resolve(name));
                }
            }
            throw new BadInputException(path + ": no tokenizer.json or tokenizer.model in this directory");
        }
        if (!Files.isRegularFile(path)) {
            throw new BadInputException(path + ": tokenizer not found");
        }
        return switch (kind(path)) {
            case GGUF -> {
                try (GgufFile f = GgufFile.open(path)) {
                    long ctx = f.optInteger(f.optString("general.architecture").orElse("llama") + ".context_length")
                            .orElse(-1);
                    String template = GgufVocabulary.chatTemplate(f).orElse(null);
                    int maxLen = (int) Math.min(Integer.MAX_VALUE, ctx);
                    if (GgufVocabulary.isByteLevelBpe(f)) {
                        ByteLevelBpe v = GgufVocabulary.readByteLevelBpe(f);
                        yield new LlamaTokenizer(v.tokenizerJson(), path.toString(),
                                v.bosId() >= 0 ? v.tokens().get(v.bosId()) : null,
                                v.eosId() >= 0 ? v.tokens().get(v.eosId()) : null, null, template, maxLen);
                    }
                    yield fromVocabulary(GgufVocabulary.read(f), path.toString(), template, maxLen);
                }
            }
            case JSON -> fromJsonFile(path);
            case SENTENCEPIECE -> fromVocabulary(SentencePieceModelFile.read(path), path.toString(), null);
            case LLAMA2C -> fromVocabulary(Llama2cTokenizerFile.read(path), path.toString(), null);
        };
    }

    private enum Kind { GGUF, JSON, SENTENCEPIECE, LLAMA2C }

    /** By content where it is unambiguous (GGUF magic, a JSON object), else by extension. */
    private static Kind kind(Path file) {
        byte[] head = new byte[4];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, 4);
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        if (n == 4 && head[0] == 'G' && head[1] == 'G' && head[2] == 'U' && head[3] == 'F') {
            return Kind.GGUF;
        }
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".json") || (n > 0 && head[0] == '{')) {
            return Kind.JSON;
        }
        if (name.endsWith(".model")) {
            return Kind.SENTENCEPIECE;
        }
        if (name.endsWith(".bin")) {
            return Kind.LLAMA2C;
        }
        if (name.endsWith(".gguf")) {
            throw new BadInputException(file + ": not a GGUF file (magic bytes are not 'GGUF')");
        }
        throw new BadInputException(file + ": unknown tokenizer format (expected tokenizer.json, a SentencePiece"
                + " .model, a llama2.c .bin or a .gguf file)");
    }

    private static LlamaTokenizer fromJsonFile(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read (" + firstLine(e.getMessage()) + ")", e);
        }
        String bos = "<s>";
        String eos = "</s>";
        String template = null;
        int maxLen = -1;
        Path dir = file.toAbsolutePath().getParent();
        Path configFile = dir.resolve("tokenizer_config.json");
        if (Files.isRegularFile(configFile)) {
            JsonNode c;
            try {
                c = JSON.readTree(configFile.toFile());
            } catch (IOException e) {
                throw new BadInputException(configFile + ": not valid JSON (" + firstLine(e.getMessage()) + ")");
            }
            bos = tokenText(c.get("bos_token"), bos);
            eos = tokenText(c.get("eos_token"), eos);
            template = chatTemplateOf(c.get("chat_template"), configFile);
            JsonNode m = c.get("model_max_length");
            if (m != null && m.isIntegralNumber() && m.canConvertToInt() && m.asInt() > 0) {
                maxLen = m.asInt();
            }
        }
        Path jinja = dir.resolve("chat_template.jinja");
        if (template == null && Files.isRegularFile(jinja)) {
            try {
                template = Files.readString(jinja, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new BadInputException(jinja + ": cannot read (" + e.getMessage() + ")", e);
            }
        }
        return new LlamaTokenizer(text, file.toString(), bos, eos, null, template, maxLen);
    }

    private static String tokenText(JsonNode n, String dflt) {
        if (n == null) {
            return dflt;
        }
        if (n.isNull()) {
            return null;
        }
        if (n.isTextual()) {
            return n.asText();
        }
        return n.path("content").isTextual() ? n.path("content").asText() : dflt;
    }

    /** A string, or transformers' list of named templates (the one named "default", else the first). */
    private static String chatTemplateOf(JsonNode n, Path file) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isTextual()) {
            return n.asText();
        }
        if (n.isArray() && !n.isEmpty()) {
            for (JsonNode t : n) {
                if ("default".equals(t.path("name").asText())) {
                    return t.path("template").asText();
                }
            }
            return n.get(0).path("template").asText();
        }
        throw new BadInputException(file + ": chat_template must be a string or a list of {name, template}");
    }

    /** Token ids of {@code text}; a BOS id first when {@code addBos}. Never adds EOS. */
    public int[] encode(String text, boolean addBos) {
        if (addBos && bosId < 0) {
            throw new IllegalStateException(source + ": this vocabulary has no begin-of-sequence token");
        }
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

    /** The begin-of-sequence id, -1 when the vocabulary has none. */
    public int bosId() {
        return bosId;
    }

    /**
     * Whether Hugging Face adds BOS when encoding with this tokenizer's defaults ({@code
     * add_special_tokens=True}): true when the {@code tokenizer.json} post-processor puts the BOS token
     * first, and, when there is no post-processor, true for a vocabulary with a BOS token (LLaMA's {@code
     * add_bos_token} default). SmolLM2- and Qwen-style tokenizers (a ByteLevel post-processor) add none.
     */
    public boolean addsBosByDefault() {
        if (bosId < 0) {
            return false;
        }
        JsonNode post = root.path("post_processor");
        if (post.isMissingNode() || post.isNull()) {
            return true;
        }
        return startsWithSpecial(post, pieces[bosId]);
    }

    private static boolean startsWithSpecial(JsonNode post, String token) {
        switch (post.path("type").asText()) {
            case "TemplateProcessing": {
                JsonNode first = post.path("single").path(0);
                return first.has("SpecialToken") && token.equals(first.path("SpecialToken").path("id").asText());
            }
            case "Sequence":
                for (JsonNode p : post.path("processors")) {
                    if (startsWithSpecial(p, token)) {
                        return true;
                    }
                }
                return false;
            default:
                return false;
        }
    }

    /** The end-of-sequence id, -1 when the vocabulary has none. */
    public int eosId() {
        return eosId;
    }

    /** The unknown-token id ({@code model.unk_token}), -1 when there is none. */
    public int unkId() {
        return ids.getOrDefault(root.path("model").path("unk_token").asText("<unk>"), -1);
    }

    /** The chat template (Jinja) from tokenizer_config.json or GGUF metadata, when there is one. */
    public Optional<String> chatTemplate() {
        return Optional.ofNullable(chatTemplate);
    }

    /** The context length recorded with the tokenizer (tokenizer_config.json, GGUF), when known. */
    public OptionalInt modelMaxLength() {
        return modelMaxLength > 0 ? OptionalInt.of(modelMaxLength) : OptionalInt.empty();
    }

    /**
     * The SentencePiece view (pieces, scores, types, special ids), e.g. to write a GGUF vocabulary. Exact
     * when converted from SentencePiece, llama2.c or GGUF; from a {@code tokenizer.json} the scores are
     * rebuilt from the merge ranks, which orders merges the same way.
     */
    public synchronized SpmVocabulary vocabulary() {
        if (vocabulary == null) {
            vocabulary = LlamaTokenizerJson.vocabularyOf(root, source).withSpecialIds(bosId, eosId);
        }
        return vocabulary;
    }

    /**
     * The byte-level BPE view (GPT-2's scheme: Llama 3, Qwen, SmolLM) when this is such a tokenizer, e.g.
     * to write it into a GGUF file; empty for SentencePiece-style ones (see {@link #vocabulary()}).
     */
    public Optional<ByteLevelBpe> byteLevelBpe() {
        if (!ByteLevelBpe.isByteLevel(root)) {
            return Optional.empty();
        }
        return Optional.of(ByteLevelBpe.of(root, source, bosId, eosId, addsBosByDefault()));
    }

    /** The {@code tokenizer.json} text this tokenizer runs, e.g. to write it into a model directory. */
    public String tokenizerJson() {
        return tokenizerJson;
    }

    /** Writes {@code tokenizer.json} and {@code tokenizer_config.json} into {@code dir} (see {@link #save(Path, int)}). */
    public void save(Path dir) throws IOException {
        save(dir, modelMaxLength);
    }

    /**
     * Writes {@code tokenizer.json} and a {@code tokenizer_config.json} that transformers loads:
     * special tokens, {@code add_bos_token} as the tokenizer adds BOS, {@code add_eos_token} false, {@code model_max_length}
     * (when {@code maxLength > 0}), the chat template when known.
     *
     * <p>{@code tokenizer_class} is {@code PreTrainedTokenizerFast}, which runs {@code tokenizer.json}
     * as written in transformers 4 and 5 alike. {@code LlamaTokenizerFast} would not: transformers 5
     * rebuilds its normaliser (a Metaspace that adds no second {@code ▁} before text that starts with a
     * space), so " Hello" would lose SentencePiece's leading {@code ▁} token (29871).
     */
    public void save(Path dir, int maxLength) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("tokenizer.json"), tokenizerJson, StandardCharsets.UTF_8);
        ObjectNode c = JSON.createObjectNode();
        c.put("add_bos_token", addsBosByDefault());
        c.put("add_eos_token", false);
        putToken(c, "bos_token", bosId);
        putToken(c, "eos_token", eosId);
        putToken(c, "unk_token", unkId());
        c.putNull("pad_token");
        c.put("clean_up_tokenization_spaces", false);
        c.put("legacy", true);
        if (maxLength > 0) {
            c.put("model_max_length", maxLength);
        }
        if (chatTemplate != null) {
            c.put("chat_template", chatTemplate);
        }
        c.put("tokenizer_class", "PreTrainedTokenizerFast");
        ObjectNode added = c.putObject("added_tokens_decoder");
        for (JsonNode t : root.path("added_tokens")) {
            added.set(t.path("id").asText(), t.deepCopy());
            ((ObjectNode) added.get(t.path("id").asText())).remove("id");
        }
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("tokenizer_config.json").toFile(), c);
    }

    private void putToken(ObjectNode c, String key, int id) {
        if (id >= 0) {
            c.put(key, pieces[id]);
        } else {
            c.putNull(key);
        }
    }

    @Override
    public void close() {
        hf.close();
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }
}
