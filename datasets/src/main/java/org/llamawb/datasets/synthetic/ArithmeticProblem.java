package org.llamawb.datasets.synthetic;

/**
 * One arithmetic question {@code left op right} and its result.
 *
 * @param id a stable id ({@code arithmetic-SEED-INDEX})
 * @param left the first operand
 * @param op {@code +}, {@code -} or {@code *}
 * @param right the second operand
 */
public record ArithmeticProblem(String id, long left, char op, long right) {
    public ArithmeticProblem {
        if (op != '+' && op != '-' && op != '*') {
            throw new IllegalArgumentException("op must be +, - or *, got " + op);
        }
    }

    /** The exact result. */
    public long answer() {
        return switch (op) {
            case '+' -> left + right;
            case '-' -> left - right;
            default -> left * right;
        };
    }

    /** {@code "12 + 7"}. */
    public String expression() {
        return left + " " + op + " " + right;
    }

    /** The user turn: the question and the answer format the rule reward checks. */
    public String question() {
        return "What is " + expression() + "? Finish with \"" + ArithmeticTask.ANSWER_PREFIX + " N.\"";
    }

    /** An assistant reply that states {@code result} in the requested format. */
    public String reply(long result) {
        return expression() + " = " + result + ". " + ArithmeticTask.ANSWER_PREFIX + " " + result + ".";
    }
}
