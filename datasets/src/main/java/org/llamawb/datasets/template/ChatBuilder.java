package org.llamawb.datasets.template;

import java.util.ArrayList;
import java.util.List;

/** Accumulates rendered text, recording the trained pieces as spans. */
final class ChatBuilder {
    private final StringBuilder text = new StringBuilder();
    private final List<CharSpan> trained = new ArrayList<>();

    ChatBuilder plain(String s) {
        text.append(s);
        return this;
    }

    ChatBuilder trained(String s) {
        int start = text.length();
        text.append(s);
        if (!s.isEmpty()) {
            trained.add(new CharSpan(start, text.length()));
        }
        return this;
    }

    RenderedChat build() {
        return new RenderedChat(text.toString(), trained);
    }
}
