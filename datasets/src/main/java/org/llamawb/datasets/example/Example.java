package org.llamawb.datasets.example;

/**
 * One training or evaluation item read from a file. The closed set of kinds is consumed by exhaustive
 * {@code switch}es (tokenisation, statistics).
 */
public sealed interface Example permits Conversation, PreferencePair, UnpairedPreference, Prompt {

    /** The record's id when the file has one, else {@code file:line}. */
    String id();

    /** Where the record starts. */
    Origin origin();
}
