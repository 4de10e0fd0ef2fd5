package org.llamawb.cli;

import java.util.List;

/** The registry of sub-commands, in the order the help lists them. */
final class Commands {
    private Commands() {}

    static List<Command> all() {
        List<Command> all = new java.util.ArrayList<>();
        all.add(new GenerateCommand());
        all.addAll(ModelCommands.all());
        all.add(new BenchCommand());
        return List.copyOf(all);
    }
}
