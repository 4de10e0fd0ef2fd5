package org.llamawb.cli;

import org.llamawb.model.tokenizer.LlamaTokenizer;

/** Turns a command-line prompt into token ids: raw text after BOS, or one user turn in a chat template. */
final class PromptRendering {
    private PromptRendering() {}

    static int[] encode(LlamaTokenizer tokenizer, String prompt, String template) {
        if (template == null) {
            return tokenizer.encode(prompt, true);
        }
        throw new UsageException("--template: chat templates arrive with the datasets module in this build; "
                + "omit --template to use the raw prompt");
    }
}
