package org.llamawb.eval.score;

import java.util.Arrays;
import org.llamawb.model.BadInputException;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * Tokenises (context, continuation) pairs exactly as lm-evaluation-harness' {@code HFLM} does for a
 * causal model ({@code LM.loglikelihood} and {@code _encode_pair}):
 * <ul>
 *   <li>trailing whitespace of the context moves to the front of the continuation;
 *   <li>{@code context + continuation} is encoded as one string and split at the length of the encoded
 *       context, so the tokens at the seam are those of the whole text;
 *   <li>each encoding gets BOS when the tokenizer adds it by default ({@code add_special_tokens=True}),
 *       unless the string already starts with the BOS text;
 *   <li>an empty context becomes the prefix token (BOS, else EOS), or the continuation's own first token
 *       when that already is the prefix token.
 * </ul>
 */
public final class RequestEncoder {

    private final LlamaTokenizer tokenizer;
    private final boolean addBos;
    private final int prefixTokenId;
    private final String prefixText;

    /**
     * @param addBos whether the tokenizer's default encoding starts with BOS (see {@link #tokenizerAddsBos})
     */
    public RequestEncoder(LlamaTokenizer tokenizer, boolean addBos) {
        this.tokenizer = tokenizer;
        this.addBos = addBos;
        this.prefixTokenId = tokenizer.bosId() >= 0 ? tokenizer.bosId() : tokenizer.eosId();
        if (prefixTokenId < 0) {
            throw new BadInputException("the tokenizer has neither a BOS nor an EOS token to condition an empty context on");
        }
        if (addBos && tokenizer.bosId() < 0) {
            throw new BadInputException("add_bos is set but the tokenizer has no BOS token");
        }
        this.prefixText = tokenizer.piece(prefixTokenId);
    }

    /** Whether Hugging Face would add BOS by default ({@link LlamaTokenizer#addsBosByDefault}). */
    public static boolean tokenizerAddsBos(LlamaTokenizer tokenizer) {
        return tokenizer.addsBosByDefault();
    }

    public boolean addsBos() {
        return addBos;
    }

    public int prefixTokenId() {
        return prefixTokenId;
    }

    /** The request lm-evaluation-harness would score for this pair. */
    public EncodedRequest encode(String context, String continuation) {
        int[] ctx;
        int[] cont;
        if (context.isEmpty()) {
            int[] c = tokenizer.encode(continuation, false);
            if (c.length == 0) {
                throw new BadInputException("continuation " + quote(continuation) + " encodes to no tokens");
            }
            if (c[0] != prefixTokenId) {
                ctx = new int[] {prefixTokenId};
                cont = c;
            } else {
                ctx = new int[] {c[0]};
                cont = Arrays.copyOfRange(c, 1, c.length);
            }
        } else {
            int cut = context.length();
            while (cut > 0 && isPythonSpace(context.charAt(cut - 1))) {
                cut--;
            }
            String ctxText = context.substring(0, cut);
            String contText = context.substring(cut) + continuation;
            int[] whole = encodeDefault(ctxText + contText);
            ctx = encodeDefault(ctxText);
            cont = Arrays.copyOfRange(whole, Math.min(ctx.length, whole.length), whole.length);
        }
        if (cont.length == 0) {
            throw new BadInputException("continuation " + quote(continuation) + " adds no tokens after context "
                    + quote(context));
        }
        if (ctx.length == 0) {
            throw new BadInputException("context " + quote(context) + " encodes to no tokens and the tokenizer adds no BOS");
        }
        return new EncodedRequest(ctx, cont);
    }

    /** lm-evaluation-harness' {@code tok_encode(string)}: default special tokens, none when BOS is already written. */
    public int[] encodeDefault(String text) {
        return tokenizer.encode(text, addBos && !text.startsWith(prefixText));
    }

    /** Python's {@code str.isspace} for one UTF-16 unit (whitespace never needs a surrogate pair). */
    static boolean isPythonSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
    }

    private static String quote(String s) {
        String t = s.length() > 60 ? "..." + s.substring(s.length() - 57) : s;
        return "'" + t.replace("\n", "\\n") + "'";
    }
}
