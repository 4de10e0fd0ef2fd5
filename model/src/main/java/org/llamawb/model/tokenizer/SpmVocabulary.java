package org.llamawb.model.tokenizer;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.llamawb.model.BadInputException;

/**
 * A SentencePiece-style BPE vocabulary as the LLaMA family ships it in its several containers
 * ({@code tokenizer.model}, llama2.c {@code tokenizer.bin}, GGUF): pieces with scores and types, the
 * ids of the unknown, begin and end tokens, and whether a space is put before the text.
 *
 * <p>Pieces spell spaces as {@code ▁} (U+2581). The score orders BPE merges: the higher a piece's
 * score, the earlier the merge that produces it.
 *
 * @param pieces piece of each id
 * @param scores score of each id
 * @param types type of each id
 * @param unkId id of the unknown piece
 * @param bosId id of the begin-of-sequence piece, -1 when none
 * @param eosId id of the end-of-sequence piece, -1 when none
 * @param addDummyPrefix SentencePiece's {@code add_dummy_prefix}: a {@code ▁} is put before the text
 */
public record SpmVocabulary(
        List<String> pieces, float[] scores, PieceType[] types, int unkId, int bosId, int eosId,
        boolean addDummyPrefix) {

    private static final Pattern BYTE_PIECE = Pattern.compile("<0x[0-9A-F]{2}>");

    /** Checks sizes, ids and uniqueness; readers prefix the file name to these messages. */
    public SpmVocabulary {
        pieces = List.copyOf(pieces);
        scores = scores.clone();
        types = types.clone();
        int n = pieces.size();
        if (n == 0) {
            throw new BadInputException("the vocabulary is empty");
        }
        if (scores.length != n || types.length != n) {
            throw new BadInputException("the vocabulary has " + n + " pieces but " + scores.length + " scores and "
                    + types.length + " types");
        }
        if (unkId < 0 || unkId >= n) {
            throw new BadInputException("unknown-token id " + unkId + " is outside the vocabulary [0, " + n + ")");
        }
        if (bosId >= n || eosId >= n) {
            throw new BadInputException("begin/end token ids " + bosId + "/" + eosId + " are outside the vocabulary [0, "
                    + n + ")");
        }
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < n; i++) {
            if (pieces.get(i).isEmpty()) {
                throw new BadInputException("piece " + i + " is empty");
            }
            if (!seen.add(pieces.get(i))) {
                throw new BadInputException("piece '" + pieces.get(i) + "' (id " + i + ") appears twice");
            }
            if (types[i] == null) {
                throw new BadInputException("piece " + i + " has no type");
            }
        }
    }

    public int size() {
        return pieces.size();
    }

    /** Whether {@code piece} is spelled like a byte-fallback piece ({@code <0x0A>}). */
    static boolean isBytePiece(String piece) {
        return BYTE_PIECE.matcher(piece).matches();
    }

    /** The vocabulary with other special-token ids (e.g. from a tokenizer_config.json). */
    public SpmVocabulary withSpecialIds(int bos, int eos) {
        return new SpmVocabulary(pieces, scores, types, unkId, bos, eos, addDummyPrefix);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SpmVocabulary v && v.pieces.equals(pieces) && java.util.Arrays.equals(v.scores, scores)
                && java.util.Arrays.equals(v.types, types) && v.unkId == unkId && v.bosId == bosId
                && v.eosId == eosId && v.addDummyPrefix == addDummyPrefix;
    }

    @Override
    public int hashCode() {
        return pieces.hashCode();
    }

    @Override
    public String toString() {
        return "SpmVocabulary[" + pieces.size() + " pieces, unk " + unkId + ", bos " + bosId + ", eos " + eosId + "]";
    }
}
