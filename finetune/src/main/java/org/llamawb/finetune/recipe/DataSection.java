package org.llamawb.finetune.recipe;

/** Training data (bound in full once the datasets module's options are wired). */
public record DataSection(Object sources) {}
