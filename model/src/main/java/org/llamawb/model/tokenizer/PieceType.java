package org.llamawb.model.tokenizer;

/**
 * What a SentencePiece piece is ({@code ModelProto.SentencePiece.Type}); GGUF's
 * {@code tokenizer.ggml.token_type} uses the same numbers.
 */
public enum PieceType {
    /** An ordinary piece, produced by BPE merges. */
    NORMAL(1),
    /** The unknown-token piece ({@code <unk>}). */
    UNKNOWN(2),
    /** A special token never produced from text by merges ({@code <s>}, {@code </s>}). */
    CONTROL(3),
    /** A piece always emitted whole when it occurs in the text. */
    USER_DEFINED(4),
    /** Reserved and never produced. */
    UNUSED(5),
    /** One of the 256 byte-fallback pieces {@code <0x00>}..{@code <0xFF>}. */
    BYTE(6);

    private final int id;

    PieceType(int id) {
        this.id = id;
    }

    public int id() {
        return id;
    }

    /** The type with this number, or null when there is none. */
    public static PieceType ofId(long id) {
        for (PieceType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        return null;
    }
}
