package org.llamawb.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * Prints generated text as tokens arrive: the whole sequence is decoded each time and only the new
 * suffix printed, held back while it ends in an incomplete UTF-8 sequence (byte-fallback tokens).
 */
final class TextStream {
    private final LlamaTokenizer tokenizer;
    private final PrintStream out;
    private final List<Integer> ids = new ArrayList<>();
    private int printed;

    TextStream(LlamaTokenizer tokenizer, PrintStream out) {
        this.tokenizer = tokenizer;
        this.out = out;
    }

    void accept(int id) {
        ids.add(id);
        String text = text();
        if (!text.endsWith("\uFFFD") && text.length() > printed) {
            out.print(text.substring(printed));
            out.flush();
            printed = text.length();
        }
    }

    /** Prints whatever is still held back. */
    void finish() {
        String text = text();
        if (text.length() > printed) {
            out.print(text.substring(printed));
        }
        out.flush();
        printed = text.length();
    }

    String text() {
        return tokenizer.decode(ids.stream().mapToInt(Integer::intValue).toArray());
    }
}
