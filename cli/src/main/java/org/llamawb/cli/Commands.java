package org.llamawb.cli;

import java.util.List;

/** The registry of sub-commands, in the order the help lists them. */
final class Commands {
    private Commands() {}

    static List<Command> all() {
        return List.of(new BenchCommand());
    }
}
