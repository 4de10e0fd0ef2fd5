package org.llamawb.datasets.tokenize;

/** Why an example read without problems was not turned into tokens. Every drop is counted by reason. */
public enum DropReason {
    LONGER_THAN_MAX_LENGTH("longer than max_length"),
    SHORTER_THAN_MIN_LENGTH("shorter than min_length"),
    NOTHING_TRAINED("no trained token within max_length"),
    TEMPLATE_ERROR("rejected by the chat template"),
    PROMPTS_DIFFER("chosen and rejected prompts tokenise differently"),
    NOT_TRAINABLE("not a kind of example this dataset trains on"),
    DUPLICATE("exact duplicate of an earlier example");

    private final String description;

    DropReason(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
