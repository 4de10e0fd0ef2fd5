package org.llamawb.datasets.example;

/** Who speaks a message. Tool and function roles are not part of this workbench's formats. */
public enum Role {
    SYSTEM("system"),
    USER("user"),
    ASSISTANT("assistant");

    private final String wireName;

    Role(String wireName) {
        this.wireName = wireName;
    }

    /** The name chat templates and OpenAI-style files use: {@code system}, {@code user}, {@code assistant}. */
    public String wireName() {
        return wireName;
    }
}
