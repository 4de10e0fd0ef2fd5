package org.llamawb.cli;

import java.io.PrintStream;
import java.util.List;
import org.apache.commons.cli.Options;
import org.llamawb.datasets.inspect.DataInspector;
import org.llamawb.datasets.inspect.Inspection;
import org.llamawb.datasets.inspect.SpanStyle;
import org.llamawb.datasets.source.Problem;

/**
 * {@code workbench data validate}: reads the whole file through the template and tokenizer; lists the
 * first problems as {@code file:line: reason} (bad JSON, unknown roles, empty or missing answers,
 * invalid UTF-8, over-long lines, conversations the template rejects) and exits 2 when there is any.
 */
final class DataValidateCommand implements Command {
    private final PrintStream out;

    DataValidateCommand() {
        this(System.out);
    }

    DataValidateCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public String name() {
        return "data validate";
    }

    @Override
    public String summary() {
        return "check a data file; list file:line: reason for the first problems (exit 2 if any)";
    }

    @Override
    public int run(List<String> args) {
        Options o = new Options();
        DataInput.addOptions(o);
        o.addOption(Flags.opt("max-problems", "N", "problems to list (default 20)"));
        Flags f = Flags.parse("data validate --data FILE [--format F] [--columns K=F,...] [--template NAME] --tokenizer M [options]", o, args);
        if (f == null) {
            return 0;
        }
        DataInput in = DataInput.of(f);
        int max = f.integer("max-problems", 20);
        try (DataInput.Encoding enc = in.open()) {
            Inspection r = new DataInspector(enc.encoder()).inspect(in.data(), in.readOptions(), 0, SpanStyle.BRACKETS);
            List<Problem> problems = r.problems(max);
            problems.forEach(p -> out.println(p));
            long count = r.problemCount();
            if (count > problems.size()) {
                out.println("... and " + (count - problems.size()) + " more problems");
            }
            r.statistics().forEach(out::println);
            out.println(count == 0 ? "ok: no problems" : "problems: " + count);
            return count == 0 ? 0 : 2;
        }
    }
}
