package org.llamawb.model.tokenizer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.llamawb.model.BadInputException;

/**
 * Reads a SentencePiece {@code tokenizer.model} (a serialized {@code ModelProto}) into a
 * {@link SpmVocabulary}, decoding just the protobuf fields needed:
 *
 * <pre>
 * ModelProto      1 pieces (repeated SentencePiece), 2 trainer_spec, 3 normalizer_spec
 * SentencePiece   1 piece (string), 2 score (float), 3 type (enum, default NORMAL)
 * TrainerSpec     3 model_type (BPE = 2), 24 treat_whitespace_as_suffix, 35 byte_fallback,
 *                 40 unk_id (default 0), 41 bos_id (1), 42 eos_id (2)
 * NormalizerSpec  3 add_dummy_prefix (default true)
 * </pre>
 *
 * <p>As transformers' {@code LlamaConverter} does, the normaliser's other settings
 * ({@code remove_extra_whitespaces}, a precompiled character map) are not applied: LLaMA's own
 * model sets neither, and llama2.c and llama.cpp ignore them too.
 */
final class SentencePieceModelFile {
    private static final int BPE = 2;
    /** A real vocabulary is far below this; a larger count is a corrupt file. */
    private static final long MAX_FILE = 1L << 30;

    private SentencePieceModelFile() {}

    static SpmVocabulary read(Path file) {
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE) {
                throw new BadInputException(file + ": " + size + " bytes is too large for a SentencePiece model");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        try {
            return parse(bytes);
        } catch (BadInputException e) {
            throw new BadInputException(file + ": not a valid SentencePiece model: " + e.getMessage(), e);
        }
    }

    static SpmVocabulary parse(byte[] bytes) {
        List<String> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        List<PieceType> types = new ArrayList<>();
        int modelType = 1;
        boolean suffix = false;
        int unkId = 0;
        int bosId = 1;
        int eosId = 2;
        boolean dummyPrefix = true;
        Wire model = new Wire(bytes, 0, bytes.length, "ModelProto");
        boolean sawPieces = false;
        while (model.more()) {
            long tag = model.varint();
            int field = (int) (tag >>> 3);
            int wire = (int) (tag & 7);
            if (field == 1 && wire == 2) {
                sawPieces = true;
                Wire p = model.message("piece " + pieces.size());
                String piece = null;
                float score = 0;
                PieceType type = PieceType.NORMAL;
                while (p.more()) {
                    long t = p.varint();
                    int f = (int) (t >>> 3);
                    int w = (int) (t & 7);
                    if (f == 1 && w == 2) {
                        piece = p.string();
                    } else if (f == 2 && w == 5) {
                        score = Float.intBitsToFloat(p.fixed32());
                    } else if (f == 3 && w == 0) {
                        long v = p.varint();
                        type = PieceType.ofId(v);
                        if (type == null) {
                            throw new BadInputException("piece " + pieces.size() + " has unknown type " + v);
                        }
                    } else {
                        p.skip(w);
                    }
                }
                if (piece == null) {
                    throw new BadInputException("piece " + pieces.size() + " has no text");
                }
                pieces.add(piece);
                scores.add(score);
                types.add(type);
            } else if (field == 2 && wire == 2) {
                Wire t = model.message("trainer_spec");
                while (t.more()) {
                    long tg = t.varint();
                    int f = (int) (tg >>> 3);
                    int w = (int) (tg & 7);
                    if (w != 0) {
                        t.skip(w);
                        continue;
                    }
                    long v = t.varint();
                    switch (f) {
                        case 3 -> modelType = (int) v;
                        case 24 -> suffix = v != 0;
                        case 40 -> unkId = (int) v;
                        case 41 -> bosId = (int) v;
                        case 42 -> eosId = (int) v;
                        default -> { }
                    }
                }
            } else if (field == 3 && wire == 2) {
                Wire n = model.message("normalizer_spec");
                while (n.more()) {
                    long tg = n.varint();
                    int f = (int) (tg >>> 3);
                    int w = (int) (tg & 7);
                    if (f == 3 && w == 0) {
                        dummyPrefix = n.varint() != 0;
                    } else {
                        n.skip(w);
                    }
                }
            } else {
                model.skip(wire);
            }
        }
        if (!sawPieces) {
            throw new BadInputException("no pieces");
        }
        if (modelType != BPE) {
            throw new BadInputException("model_type is " + (modelType == 1 ? "UNIGRAM" : String.valueOf(modelType))
                    + "; only BPE models (the LLaMA tokenizer) are supported");
        }
        if (suffix) {
            throw new BadInputException("treat_whitespace_as_suffix is not supported");
        }
        float[] s = new float[scores.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = scores.get(i);
        }
        return new SpmVocabulary(pieces, s, types.toArray(new PieceType[0]), unkId, bosId, eosId, dummyPrefix);
    }

    /** A bounds-checked cursor over one protobuf message. */
    private static final class Wire {
        private final byte[] b;
        private int pos;
        private final int end;
        private final String what;

        Wire(byte[] b, int start, int end, String what) {
            this.b = b;
            this.pos = start;
            this.end = end;
            this.what = what;
        }

        boolean more() {
            return pos < end;
        }

        long varint() {
            long v = 0;
            for (int shift = 0; shift < 70; shift += 7) {
                if (pos >= end) {
                    throw new BadInputException(what + " is truncated (varint at byte " + pos + ")");
                }
                int x = b[pos++] & 0xFF;
                v |= (long) (x & 0x7F) << shift;
                if ((x & 0x80) == 0) {
                    return v;
                }
            }
            throw new BadInputException(what + " has a malformed varint at byte " + pos);
        }

        int fixed32() {
            need(4);
            int v = (b[pos] & 0xFF) | (b[pos + 1] & 0xFF) << 8 | (b[pos + 2] & 0xFF) << 16 | (b[pos + 3] & 0xFF) << 24;
            pos += 4;
            return v;
        }

        private int length() {
            long len = varint();
            if (len < 0 || len > end - pos) {
                throw new BadInputException(what + ": length " + len + " at byte " + pos + " runs past the end"
                        + " (truncated or corrupt)");
            }
            return (int) len;
        }

        Wire message(String name) {
            int len = length();
            Wire w = new Wire(b, pos, pos + len, name);
            pos += len;
            return w;
        }

        String string() {
            int len = length();
            try {
                String s = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(b, pos, len)).toString();
                pos += len;
                return s;
            } catch (CharacterCodingException e) {
                throw new BadInputException(what + ": text at byte " + pos + " is not valid UTF-8");
            }
        }

        private void need(int n) {
            if (end - pos < n) {
                throw new BadInputException(what + " is truncated at byte " + pos);
            }
        }

        void skip(int wire) {
            switch (wire) {
                case 0 -> varint();
                case 1 -> {
                    need(8);
                    pos += 8;
                }
                case 2 -> {
                    int len = length(); // not `pos += length()`: Java reads pos before the call advances it
                    pos += len;
                }
                case 5 -> {
                    need(4);
                    pos += 4;
                }
                default -> throw new BadInputException(what + ": unsupported protobuf wire type " + wire + " at byte "
                        + pos + " (corrupt file?)");
            }
        }
    }
}
