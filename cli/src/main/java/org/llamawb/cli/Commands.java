package org.llamawb.cli;

import java.util.ArrayList;
import java.util.List;

/** The registry of sub-commands, in the order the help lists them. */
final class Commands {
    private Commands() {}

    static List<Command> all() {
        List<Command> all = new ArrayList<>();
        all.add(new FinetuneCommand());
        all.add(new GenerateCommand());
        all.add(new ChatCommand());
        all.add(new EvalCommand());
        all.add(new MergeCommand());
        all.add(new ExportCommand());
        all.addAll(ModelCommands.all());
        all.add(new RunsListCommand());
        all.add(new RunsCompareCommand());
        all.add(new RunsSyncCommand());
        all.add(new DataInspectCommand());
        all.add(new DataValidateCommand());
        all.add(new DataGenerateCommand());
        all.add(new DataBenchCommand());
        all.add(new BenchCommand());
        return List.copyOf(all);
    }
}
