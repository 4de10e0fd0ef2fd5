package org.llamawb.datasets.template;

import java.util.List;
import java.util.Objects;

/**
 * A rendered conversation and the character spans that are trained: each assistant answer and the
 * end-of-turn marker that closes it ({@code </s>}, {@code <|im_end|>}, {@code <|eot_id|>}, ...), without
 * the role header before it or whitespace around it. Spans are sorted and do not overlap.
 */
public record RenderedChat(String text, List<CharSpan> trained) {
    public RenderedChat {
        Objects.requireNonNull(text, "text");
        trained = List.copyOf(trained);
        int last = 0;
        for (CharSpan s : trained) {
            if (s.start() < last || s.end() > text.length()) {
                throw new IllegalArgumentException("trained spans must be sorted, disjoint and inside the text");
            }
            last = s.end();
        }
    }

    /** The trained characters, concatenated (for tests and inspection). */
    public String trainedText() {
        StringBuilder sb = new StringBuilder();
        for (CharSpan s : trained) {
            sb.append(text, s.start(), s.end());
        }
        return sb.toString();
    }
}
