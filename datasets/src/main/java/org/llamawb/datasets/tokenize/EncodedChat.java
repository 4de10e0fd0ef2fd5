package org.llamawb.datasets.tokenize;

import org.llamawb.datasets.template.RenderedChat;

/**
 * A rendered conversation as tokens before any truncation: what {@code workbench data inspect} shows.
 *
 * @param chat the template's text and trained character spans
 * @param tokens the tokens with their character spans (a BOS the encoder added covers no character)
 * @param labels per token: its id where trained, {@link TokenizedExample#IGNORE} elsewhere
 * @param bosAdded whether the encoder put BOS first (it does unless the template wrote it)
 */
public record EncodedChat(RenderedChat chat, TokenSpans tokens, int[] labels, boolean bosAdded) {
    public int length() {
        return tokens.size();
    }
}
