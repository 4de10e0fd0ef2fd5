package org.llamawb.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.cli.Options;
import org.llamawb.datasets.synthetic.ArithmeticTask;
import org.llamawb.model.BadInputException;

/**
 * {@code workbench data generate}: writes a synthetic task with checkable answers as JSONL: prompts with a
 * reference {@code answer} (for rule rewards), {@code --pairs} right-vs-wrong preference pairs (DPO), or
 * {@code --sft} conversations.
 */
final class DataGenerateCommand implements Command {
    private static final String USAGE = "data generate --task arithmetic --out FILE [--pairs | --sft] [--n N] [--seed S]";
    private final PrintStream out;

    DataGenerateCommand() {
        this(System.out);
    }

    DataGenerateCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public String name() {
        return "data generate";
    }

    @Override
    public String summary() {
        return "write a synthetic task with checkable answers (arithmetic) as prompts, preference pairs or SFT data";
    }

    @Override
    public int run(List<String> args) {
        Options o = new Options();
        o.addOption(Flags.required("task", "NAME", "the task: arithmetic"));
        o.addOption(Flags.required("out", "FILE", "the JSONL file to write"));
        o.addOption(Flags.opt("pairs", null, "write preference pairs (right vs wrong result; --format preference)"));
        o.addOption(Flags.opt("sft", null, "write conversations with the right answer (--format openai)"));
        o.addOption(Flags.opt("n", "N", "records to write (default 1000)"));
        o.addOption(Flags.opt("seed", "S", "random seed (default 0)"));
        o.addOption(Flags.opt("max-operand", "N", "largest operand of + and - (default 99)"));
        o.addOption(Flags.opt("max-factor", "N", "largest operand of * (default 9)"));
        Flags f = Flags.parse(USAGE, o, args);
        if (f == null) {
            return 0;
        }
        String task = f.string("task");
        if (!task.equals("arithmetic")) {
            throw new UsageException("--task: unknown task '" + task + "'; expected arithmetic");
        }
        if (f.has("pairs") && f.has("sft")) {
            throw new UsageException("--pairs and --sft exclude each other");
        }
        ArithmeticTask.Kind kind = f.has("pairs") ? ArithmeticTask.Kind.PAIRS
                : f.has("sft") ? ArithmeticTask.Kind.SFT : ArithmeticTask.Kind.PROMPTS;
        int n = f.integer("n", 1000);
        ArithmeticTask generator;
        try {
            generator = new ArithmeticTask(f.integer("max-operand", 99), f.integer("max-factor", 9));
            if (n < 1) {
                throw new IllegalArgumentException("--n must be >= 1, got " + n);
            }
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        Path file = Path.of(f.string("out"));
        try {
            generator.write(file, kind, n, f.longValue("seed", 0));
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot write (" + e.getMessage() + ")");
        }
        String format = switch (kind) {
            case PROMPTS -> "prompts";
            case PAIRS -> "preference";
            case SFT -> "openai";
        };
        out.println("wrote " + n + " " + task + " records to " + file + " (--format " + format
                + "; reference answers in 'answer', extracted by '" + ArithmeticTask.ANSWER_PATTERN + "')");
        return 0;
    }
}
