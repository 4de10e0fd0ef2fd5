package org.llamawb.cli;

import java.io.PrintStream;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.llamawb.tracking.compare.RunList;
import org.llamawb.tracking.mlflow.MlflowCallException;
import org.llamawb.tracking.mlflow.MlflowServer;

/** {@code workbench runs list [--experiment E]}: the runs on the MLflow server. */
final class RunsListCommand implements Command {

    private final PrintStream out;

    RunsListCommand() {
        this(System.out);
    }

    RunsListCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public String name() {
        return "runs list";
    }

    @Override
    public String summary() {
        return "list the runs on the MLflow server, of one experiment or all";
    }

    @Override
    public int run(List<String> args) {
        Options options = new Options()
                .addOption(Option.builder().longOpt("experiment").hasArg().argName("NAME")
                        .desc("only this experiment's runs").build())
                .addOption(RunsFlags.TRACKING_URI);
        CommandLine line = RunsFlags.parse("runs list [--experiment E] [--tracking-uri URI]", options, args, out);
        if (line == null) {
            return 0;
        }
        try (MlflowServer server = RunsFlags.server(line)) {
            out.print(RunList.table(server, line.getOptionValue("experiment")));
            return 0;
        } catch (MlflowCallException e) {
            throw RunsFlags.userError(e);
        }
    }
}
