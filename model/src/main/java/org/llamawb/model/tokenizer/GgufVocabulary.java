package org.llamawb.model.tokenizer;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.llamawb.model.BadInputException;
import org.llamawb.model.gguf.GgufFile;
import org.llamawb.model.gguf.GgufWriter;

/**
 * A vocabulary in GGUF metadata, both directions: {@code tokenizer.ggml.model} {@code "llama"}
 * (SentencePiece BPE), {@code tokenizer.ggml.tokens/scores/token_type}, the
 * {@code bos/eos/unknown_token_id}s, {@code add_bos_token}/{@code add_eos_token},
 * {@code add_space_prefix} and {@code tokenizer.chat_template}; or {@code "gpt2"} (byte-level BPE:
 * {@code tokens/token_type/merges}, {@code tokenizer.ggml.pre}, the special ids, {@code add_bos_token}).
 */
public final class GgufVocabulary {
    private GgufVocabulary() {}

    /** Whether the file's vocabulary is a byte-level BPE ({@code tokenizer.ggml.model = "gpt2"}). */
    public static boolean isByteLevelBpe(GgufFile f) {
        return f.optString("tokenizer.ggml.model").map("gpt2"::equals).orElse(false);
    }

    /** The vocabulary of a GGUF file; an error when it has none or not a SentencePiece one. */
    public static SpmVocabulary read(GgufFile f) {
        String model = f.optString("tokenizer.ggml.model").orElseThrow(() ->
                new BadInputException(f.path() + ": no vocabulary (metadata 'tokenizer.ggml.model' is missing)"));
        if (!model.equals("llama")) {
            throw new BadInputException(f.path() + ": tokenizer.ggml.model is '" + model
                    + "'; only SentencePiece ('llama') and byte-level BPE ('gpt2') vocabularies are supported");
        }
        String[] tokens = f.strings("tokenizer.ggml.tokens");
        int n = tokens.length;
        PieceType[] types = types(f, n);
        float[] scores = f.has("tokenizer.ggml.scores") ? f.floats("tokenizer.ggml.scores") : new float[n];
        if (scores.length != n) {
            throw new BadInputException(f.path() + ": tokenizer.ggml.scores has " + scores.length + " entries for "
                    + n + " tokens");
        }
        int unk = id(f, "tokenizer.ggml.unknown_token_id", 0, n);
        int bos = id(f, "tokenizer.ggml.bos_token_id", 1, n);
        int eos = id(f, "tokenizer.ggml.eos_token_id", 2, n);
        boolean prefix = f.optBool("tokenizer.ggml.add_space_prefix").orElse(true);
        try {
            return new SpmVocabulary(List.of(tokens), scores, types, unk, bos, eos, prefix);
        } catch (BadInputException e) {
            throw new BadInputException(f.path() + ": " + e.getMessage(), e);
        }
    }

    /** The byte-level BPE vocabulary of a GGUF file ({@code tokenizer.ggml.model = "gpt2"}). */
    public static ByteLevelBpe readByteLevelBpe(GgufFile f) {
        String[] tokens = f.strings("tokenizer.ggml.tokens");
        int n = tokens.length;
        if (!f.has("tokenizer.ggml.merges")) {
            throw new BadInputException(f.path() + ": a 'gpt2' vocabulary without tokenizer.ggml.merges");
        }
        String preName = f.optString("tokenizer.ggml.pre").orElse("default");
        ByteLevelBpe.PreTokenizer pre = ByteLevelBpe.PreTokenizer.byGgufName(preName).orElseThrow(() ->
                new BadInputException(f.path() + ": tokenizer.ggml.pre is '" + preName + "'; supported: "
                        + ByteLevelBpe.PreTokenizer.names() + ", default (or pass --tokenizer with the model's tokenizer.json)"));
        int bos = f.has("tokenizer.ggml.bos_token_id") ? id(f, "tokenizer.ggml.bos_token_id", -1, n) : -1;
        int eos = f.has("tokenizer.ggml.eos_token_id") ? id(f, "tokenizer.ggml.eos_token_id", -1, n) : -1;
        boolean addBos = f.optBool("tokenizer.ggml.add_bos_token").orElse(false) && bos >= 0;
        try {
            return new ByteLevelBpe(List.of(tokens), types(f, n), List.of(f.strings("tokenizer.ggml.merges")), bos, eos,
                    addBos, pre);
        } catch (BadInputException e) {
            throw new BadInputException(f.path() + ": " + e.getMessage(), e);
        }
    }

    private static PieceType[] types(GgufFile f, int n) {
        PieceType[] types = new PieceType[n];
        if (f.has("tokenizer.ggml.token_type")) {
            long[] t = f.integers("tokenizer.ggml.token_type");
            if (t.length != n) {
                throw new BadInputException(f.path() + ": tokenizer.ggml.token_type has " + t.length
                        + " entries for " + n + " tokens");
            }
            for (int i = 0; i < n; i++) {
                types[i] = PieceType.ofId(t[i]);
                if (types[i] == null) {
                    throw new BadInputException(f.path() + ": tokenizer.ggml.token_type[" + i + "] = " + t[i]
                            + " is not a token type (1 to 6)");
                }
            }
        } else {
            Arrays.fill(types, PieceType.NORMAL);
        }
        return types;
    }

    /** {@code tokenizer.chat_template}, when the file has one. */
    public static Optional<String> chatTemplate(GgufFile f) {
        return f.optString("tokenizer.chat_template");
    }

    private static int id(GgufFile f, String key, int dflt, int n) {
        long v = f.optInteger(key).orElse(dflt);
        if (v < 0 || v >= n) {
            throw new BadInputException(f.path() + ": " + key + " = " + v + " is outside the vocabulary [0, " + n + ")");
        }
        return (int) v;
    }

    /** Writes a tokenizer's vocabulary, special ids and chat template as {@code tokenizer.*} metadata. */
    public static void write(LlamaTokenizer tokenizer, GgufWriter w) {
        var bpe = tokenizer.byteLevelBpe();
        if (bpe.isPresent()) {
            write(bpe.get(), tokenizer.chatTemplate().orElse(null), w);
        } else {
            write(tokenizer.vocabulary(), tokenizer.chatTemplate().orElse(null), w);
        }
    }

    /** Writes a byte-level BPE vocabulary as llama.cpp's {@code "gpt2"} tokenizer model. */
    public static void write(ByteLevelBpe v, String chatTemplate, GgufWriter w) {
        w.putString("tokenizer.ggml.model", "gpt2");
        w.putString("tokenizer.ggml.pre", v.pre().ggufName());
        w.putStrings("tokenizer.ggml.tokens", v.tokens().toArray(new String[0]));
        int[] types = new int[v.tokens().size()];
        for (int i = 0; i < types.length; i++) {
            types[i] = v.types()[i].id();
        }
        w.putInt32s("tokenizer.ggml.token_type", types);
        w.putStrings("tokenizer.ggml.merges", v.merges().toArray(new String[0]));
        if (v.bosId() >= 0) {
            w.putUint32("tokenizer.ggml.bos_token_id", v.bosId());
        }
        if (v.eosId() >= 0) {
            w.putUint32("tokenizer.ggml.eos_token_id", v.eosId());
        }
        w.putBool("tokenizer.ggml.add_bos_token", v.addBos());
        w.putBool("tokenizer.ggml.add_eos_token", false);
        if (chatTemplate != null) {
            w.putString("tokenizer.chat_template", chatTemplate);
        }
    }

    /** Writes {@code v} (and the chat template, when given) as {@code tokenizer.*} metadata. */
    public static void write(SpmVocabulary v, String chatTemplate, GgufWriter w) {
        w.putString("tokenizer.ggml.model", "llama");
        w.putStrings("tokenizer.ggml.tokens", v.pieces().toArray(new String[0]));
        w.putFloat32s("tokenizer.ggml.scores", v.scores());
        int[] types = new int[v.size()];
        for (int i = 0; i < types.length; i++) {
            types[i] = v.types()[i].id();
        }
        w.putInt32s("tokenizer.ggml.token_type", types);
        if (v.bosId() >= 0) {
            w.putUint32("tokenizer.ggml.bos_token_id", v.bosId());
        }
        if (v.eosId() >= 0) {
            w.putUint32("tokenizer.ggml.eos_token_id", v.eosId());
        }
        w.putUint32("tokenizer.ggml.unknown_token_id", v.unkId());
        w.putBool("tokenizer.ggml.add_bos_token", true);
        w.putBool("tokenizer.ggml.add_eos_token", false);
        if (!v.addDummyPrefix()) {
            w.putBool("tokenizer.ggml.add_space_prefix", false);
        }
        if (chatTemplate != null) {
            w.putString("tokenizer.chat_template", chatTemplate);
        }
    }
}
