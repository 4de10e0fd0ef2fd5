package org.llamawb.cli;

import java.io.PrintStream;
import java.util.List;
import org.apache.commons.cli.Options;
import org.llamawb.datasets.inspect.DataInspector;
import org.llamawb.datasets.inspect.Inspection;
import org.llamawb.datasets.inspect.SpanStyle;

/**
 * {@code workbench data inspect}: the first examples rendered by the chat template with the trained
 * tokens marked (green on a terminal, {@code [[...]]} otherwise), then statistics: examples, token length
 * percentiles, the share of tokens trained, and what was skipped or dropped and why.
 */
final class DataInspectCommand implements Command {
    private final PrintStream out;

    DataInspectCommand() {
        this(System.out);
    }

    DataInspectCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public String name() {
        return "data inspect";
    }

    @Override
    public String summary() {
        return "show examples rendered with their trained tokens marked, and statistics";
    }

    @Override
    public int run(List<String> args) {
        Options o = new Options();
        DataInput.addOptions(o);
        o.addOption(Flags.opt("show", "N", "examples to render (default 3)"));
        o.addOption(Flags.opt("color", "WHEN", "mark trained text with colour: auto, always or never (default auto)"));
        Flags f = Flags.parse("data inspect --data FILE [--format F] [--columns K=F,...] [--template NAME] --tokenizer M [options]", o, args);
        if (f == null) {
            return 0;
        }
        DataInput in = DataInput.of(f);
        int show = f.integer("show", 3);
        SpanStyle style = switch (f.string("color", "auto")) {
            case "always" -> SpanStyle.COLOR;
            case "never" -> SpanStyle.BRACKETS;
            case "auto" -> System.console() != null && out == System.out ? SpanStyle.COLOR : SpanStyle.BRACKETS;
            default -> throw new UsageException("--color expects auto, always or never, got '" + f.string("color") + "'");
        };
        try (DataInput.Encoding enc = in.open()) {
            Inspection r = new DataInspector(enc.encoder()).inspect(in.data(), in.readOptions(), show, style);
            for (String s : r.shown()) {
                out.println(s);
            }
            out.println("---");
            r.statistics().forEach(out::println);
            r.problems(5).forEach(p -> out.println("problem: " + p));
        }
        return 0;
    }
}
