/**
 * The values every format is read into: {@link org.llamawb.datasets.example.Conversation},
 * {@link org.llamawb.datasets.example.PreferencePair}, {@link org.llamawb.datasets.example.UnpairedPreference}
 * and {@link org.llamawb.datasets.example.Prompt}, each carrying the {@link org.llamawb.datasets.example.Origin}
 * (file and line) it came from so every later problem can be reported as {@code file:line: reason}.
 */
package org.llamawb.datasets.example;
