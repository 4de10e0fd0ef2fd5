package org.llamawb.cli;

import java.util.List;

/** One {@code workbench} sub-command. Implementations parse their own flags with commons-cli. */
interface Command {

    /** The words that select it, e.g. {@code "generate"} or {@code "model inspect"}. */
    String name();

    /** One line for the command list. */
    String summary();

    /** Runs with the arguments after the command words; returns the exit code. */
    int run(List<String> args) throws Exception;
}
