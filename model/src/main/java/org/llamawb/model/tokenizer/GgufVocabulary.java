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
 * {@code add_space_prefix} and {@code tokenizer.chat_template}.
 */
public final class GgufVocabulary {
    private GgufVocabulary() {}

    /** The vocabulary of a GGUF file; an error when it has none or not a SentencePiece one. */
    public static SpmVocabulary read(GgufFile f) {
        String model = f.optString("tokenizer.ggml.model").orElseThrow(() ->
                new BadInputException(f.path() + ": no vocabulary (metadata 'tokenizer.ggml.model' is missing)"));
        if (!model.equals("llama")) {
            throw new BadInputException(f.path() + ": tokenizer.ggml.model is '" + model
                    + "'; only SentencePiece vocabularies ('llama') are supported");
        }
        String[] tokens = f.strings("tokenizer.ggml.tokens");
        int n = tokens.length;
        float[] scores = f.has("tokenizer.ggml.scores") ? f.floats("tokenizer.ggml.scores") : new float[n];
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
