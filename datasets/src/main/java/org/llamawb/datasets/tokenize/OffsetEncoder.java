package org.llamawb.datasets.tokenize;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.llamawb.model.BadInputException;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * Encodes text with the same {@code tokenizer.json} a {@link LlamaTokenizer} runs (so the ids are
 * identical to {@link LlamaTokenizer#encode}) and also returns each token's character span, which the
 * label mask needs. Hugging Face tokenizers report spans in code points; they are converted to Java's
 * UTF-16 indices here.
 */
public final class OffsetEncoder implements AutoCloseable {
    private final HuggingFaceTokenizer hf;

    public OffsetEncoder(LlamaTokenizer tokenizer) {
        try {
            // Same options as LlamaTokenizer: no special tokens added, BOS is the caller's decision.
            hf = HuggingFaceTokenizer.newInstance(
                    new ByteArrayInputStream(tokenizer.tokenizerJson().getBytes(StandardCharsets.UTF_8)),
                    Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
        } catch (IOException | RuntimeException e) {
            throw new BadInputException("tokenizer rejected by Hugging Face tokenizers: " + e.getMessage());
        }
    }

    /** The tokens of {@code text} (no BOS) with their character spans. */
    public TokenSpans encode(String text) {
        Encoding enc = hf.encode(text, false, false);
        long[] raw = enc.getIds();
        CharSpan[] spans = enc.getCharTokenSpans();
        int[] utf16 = codePointToUtf16(text);
        int n = raw.length;
        int[] ids = new int[n];
        int[] starts = new int[n];
        int[] ends = new int[n];
        int last = 0;
        for (int i = 0; i < n; i++) {
            ids[i] = (int) raw[i];
            CharSpan s = spans == null || i >= spans.length ? null : spans[i];
            if (s == null) {
                starts[i] = last;
                ends[i] = last;
            } else {
                starts[i] = utf16[Math.min(s.getStart(), utf16.length - 1)];
                ends[i] = utf16[Math.min(s.getEnd(), utf16.length - 1)];
                last = ends[i];
            }
        }
        return new TokenSpans(ids, starts, ends);
    }

    /** Index {@code k} holds the UTF-16 index of code point {@code k}; the last entry is the length. */
    private static int[] codePointToUtf16(String text) {
        int[] map = new int[text.codePointCount(0, text.length()) + 1];
        int cp = 0;
        for (int i = 0; i < text.length(); i += Character.charCount(text.codePointAt(i))) {
            map[cp++] = i;
        }
        map[cp] = text.length();
        return map;
    }

    @Override
    public void close() {
        hf.close();
    }
}
