package org.llamawb.datasets.inspect;

import org.llamawb.datasets.tokenize.EncodedChat;
import org.llamawb.datasets.tokenize.TokenSpans;
import org.llamawb.datasets.tokenize.TokenizedExample;

/**
 * A rendered example with the characters of its trained tokens marked. Marking follows the tokens, not
 * the template's spans, so it shows exactly what the loss sees (a token that straddles a boundary is
 * marked whole).
 */
public final class TrainedText {
    private TrainedText() {}

    public static String mark(EncodedChat chat, SpanStyle style) {
        String text = chat.chat().text();
        boolean[] trained = new boolean[text.length()];
        TokenSpans t = chat.tokens();
        for (int i = 0; i < t.size(); i++) {
            if (chat.labels()[i] != TokenizedExample.IGNORE) {
                for (int c = t.starts()[i]; c < t.ends()[i]; c++) {
                    trained[c] = true;
                }
            }
        }
        StringBuilder sb = new StringBuilder(text.length() + 32);
        boolean in = false;
        for (int c = 0; c < text.length(); c++) {
            if (trained[c] != in) {
                sb.append(trained[c] ? style.open() : style.close());
                in = trained[c];
            }
            sb.append(text.charAt(c));
        }
        if (in) {
            sb.append(style.close());
        }
        return sb.toString();
    }
}
