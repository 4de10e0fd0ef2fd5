package org.llamawb.model.tokenizer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.llamawb.model.BadInputException;

/**
 * Reads llama2.c's {@code tokenizer.bin} into a {@link SpmVocabulary}.
 *
 * <p>Layout (little endian): int32 {@code max_token_length}, then for every token until the end of the
 * file: float32 score, int32 byte length, UTF-8 bytes. llama2.c's exporter wrote pieces with {@code ▁}
 * replaced by a space and {@code <s>}/{@code </s>} as {@code "\n<s>\n"}/{@code "\n</s>\n"}; this
 * undoes both. Ids 0, 1, 2 are {@code <unk>}, {@code <s>}, {@code </s>}; pieces spelled {@code <0xXX>}
 * are byte-fallback pieces, every other piece is normal. The file carries no types or normaliser
 * flags, so a space is put before the text, as llama2.c's {@code encode} does.
 */
final class Llama2cTokenizerFile {
    private static final int MAX_PIECE = 1 << 16;
    private static final long MAX_FILE = 1L << 30;

    private Llama2cTokenizerFile() {}

    static SpmVocabulary read(Path file) {
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE) {
                throw new BadInputException(file + ": " + size + " bytes is too large for a llama2.c tokenizer");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        try {
            return parse(bytes);
        } catch (BadInputException e) {
            throw new BadInputException(file + ": not a valid llama2.c tokenizer.bin: " + e.getMessage(), e);
        }
    }

    static SpmVocabulary parse(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < 4) {
            throw new BadInputException("shorter than its 4-byte header");
        }
        int maxLen = b.getInt();
        if (maxLen <= 0 || maxLen > MAX_PIECE) {
            throw new BadInputException("max_token_length " + maxLen + " is not within [1, " + MAX_PIECE + "]");
        }
        List<String> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        while (b.hasRemaining()) {
            int id = pieces.size();
            if (b.remaining() < 8) {
                throw new BadInputException("truncated in the header of token " + id + " at byte " + b.position());
            }
            float score = b.getFloat();
            int len = b.getInt();
            if (len <= 0 || len > maxLen) {
                throw new BadInputException("token " + id + " has length " + len + " (expected 1 to max_token_length "
                        + maxLen + ")");
            }
            if (len > b.remaining()) {
                throw new BadInputException("truncated in token " + id + " (" + len + " bytes at byte " + b.position()
                        + ", " + b.remaining() + " left)");
            }
            String text;
            try {
                text = decoder.decode(b.slice(b.position(), len)).toString();
            } catch (CharacterCodingException e) {
                throw new BadInputException("token " + id + " is not valid UTF-8");
            }
            b.position(b.position() + len);
            pieces.add(text);
            scores.add(score);
        }
        if (pieces.size() < 3) {
            throw new BadInputException("only " + pieces.size() + " tokens (ids 0, 1, 2 must be <unk>, <s>, </s>)");
        }
        PieceType[] types = new PieceType[pieces.size()];
        float[] s = new float[pieces.size()];
        for (int i = 0; i < pieces.size(); i++) {
            String p = pieces.get(i);
            s[i] = scores.get(i);
            if (i == 0) {
                types[i] = PieceType.UNKNOWN;
                p = "<unk>";
            } else if (i == 1 || i == 2) {
                types[i] = PieceType.CONTROL;
                p = i == 1 ? "<s>" : "</s>";
            } else if (SpmVocabulary.isBytePiece(p)) {
                types[i] = PieceType.BYTE;
            } else {
                types[i] = PieceType.NORMAL;
                p = p.replace(' ', '\u2581');
            }
            pieces.set(i, p);
        }
        return new SpmVocabulary(pieces, s, types, 0, 1, 2, true);
    }
}
