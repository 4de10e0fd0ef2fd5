package org.llamawb.datasets.template;

/**
 * Rewrites the few Python-Jinja expressions that real chat templates use and Jinjava's expression parser
 * rejects or reads differently, into equivalents it parses the Python way. Only the insides of
 * {@code {{ }}} and {@code {% %}} are touched (never text, comments, raw blocks or string literals):
 * <ul>
 *   <li>stepped slices {@code x[a:b:c]} (Qwen's {@code messages[::-1]}) become the filter
 *       {@code x|py_slice(a, b, c)} (empty parts are {@code none});</li>
 *   <li>string-literal escapes Jinjava's lexer lacks (backslash-u, backslash-x, backslash-a, ...)
 *       become the characters they stand for, and unknown escapes stay a backslash and the character
 *       (Python's rule);</li>
 *   <li>keyword-argument values are parenthesised, so {@code namespace(i=messages|length - 1)} means
 *       {@code i=(messages|length - 1)} as in Python rather than {@code (i=messages|length) - 1}.</li>
 * </ul>
 */
final class PythonJinjaSyntax {
    private PythonJinjaSyntax() {}

    static String rewrite(String source) {
        StringBuilder out = new StringBuilder(source.length() + 16);
        int i = 0;
        int n = source.length();
        while (i < n) {
            int open = nextOpen(source, i);
            if (open < 0) {
                out.append(source, i, n);
                break;
            }
            out.append(source, i, open);
            char kind = source.charAt(open + 1);
            if (kind == '#') {
                int end = source.indexOf("#}", open + 2);
                end = end < 0 ? n : end + 2;
                out.append(source, open, end);
                i = end;
                continue;
            }
            String close = kind == '{' ? "}}" : "%}";
            int end = closing(source, open + 2, close);
            if (end < 0) {
                out.append(source, open, n); // unterminated: leave it to Jinjava's error message
                break;
            }
            String inner = source.substring(open + 2, end);
            if (kind == '%' && inner.strip().replaceFirst("^[-+]", "").strip().equals("raw")) {
                int endRaw = endRaw(source, end + 2);
                out.append(source, open, endRaw);
                i = endRaw;
                continue;
            }
            String head = inner.strip().replaceFirst("^[-+]", "").strip();
            // Macro signatures declare defaults (name=value) that are not call arguments.
            boolean declaration = kind == '%' && (head.startsWith("macro ") || head.startsWith("call"));
            String rewritten = steppedSlices(stringEscapes(inner));
            out.append(source, open, open + 2).append(declaration ? rewritten : keywordArguments(rewritten)).append(close);
            i = end + 2;
        }
        return out.toString();
    }

    private static int nextOpen(String s, int from) {
        for (int i = from; i + 1 < s.length(); i++) {
            if (s.charAt(i) == '{') {
                char c = s.charAt(i + 1);
                if (c == '{' || c == '%' || c == '#') {
                    return i;
                }
            }
        }
        return -1;
    }

    /** The index of {@code close} ending a tag, skipping string literals. */
    private static int closing(String s, int from, String close) {
        int i = from;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = skipString(s, i);
                continue;
            }
            if (s.startsWith(close, i)) {
                return i;
            }
            i++;
        }
        return -1;
    }

    private static int endRaw(String s, int from) {
        int i = from;
        while (true) {
            int open = s.indexOf("{%", i);
            if (open < 0) {
                return s.length();
            }
            int end = s.indexOf("%}", open);
            if (end < 0) {
                return s.length();
            }
            if (s.substring(open + 2, end).strip().replaceAll("^[-+]|[-+]$", "").strip().equals("endraw")) {
                return end + 2;
            }
            i = end + 2;
        }
    }

    /** The index just after the string literal starting at {@code start}. */
    private static int skipString(String s, int start) {
        char q = s.charAt(start);
        int i = start + 1;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '\\') {
                i += 2;
                continue;
            }
            if (c == q) {
                return i + 1;
            }
            i++;
        }
        return s.length();
    }

    /** Rewrites the escapes inside every string literal of a tag's expression. */
    static String stringEscapes(String expr) {
        StringBuilder out = new StringBuilder(expr.length());
        int i = 0;
        while (i < expr.length()) {
            char c = expr.charAt(i);
            if (c != '\'' && c != '"') {
                out.append(c);
                i++;
                continue;
            }
            int end = skipString(expr, i);
            out.append(c);
            int j = i + 1;
            int last = Math.max(j, end - 1);
            while (j < last) {
                char ch = expr.charAt(j);
                if (ch != '\\' || j + 1 >= last) {
                    out.append(ch);
                    j++;
                    continue;
                }
                char e = expr.charAt(j + 1);
                switch (e) {
                    case 'n', 't', 'r', '\\', '\'', '"' -> {
                        out.append('\\').append(e); // Jinjava reads these itself
                        j += 2;
                    }
                    case 'u', 'x', 'U' -> {
                        int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                        if (j + 2 + digits <= last) {
                            appendLiteral(out, Integer.parseInt(expr.substring(j + 2, j + 2 + digits), 16), c);
                            j += 2 + digits;
                        } else {
                            out.append("\\\\").append(e);
                            j += 2;
                        }
                    }
                    case 'a' -> { appendLiteral(out, 7, c); j += 2; }
                    case 'b' -> { appendLiteral(out, 8, c); j += 2; }
                    case 'f' -> { appendLiteral(out, 12, c); j += 2; }
                    case 'v' -> { appendLiteral(out, 11, c); j += 2; }
                    case '\n' -> j += 2; // a backslash-newline continues the literal
                    default -> {
                        out.append("\\\\").append(e); // unknown escape: Python keeps the backslash
                        j += 2;
                    }
                }
            }
            out.append(expr, last, end);
            i = end;
        }
        return out.toString();
    }

    private static void appendLiteral(StringBuilder out, int codePoint, char quote) {
        if (codePoint == quote || codePoint == '\\') {
            out.append('\\');
        }
        out.appendCodePoint(codePoint);
    }

    /** {@code x[a:b:c]} to {@code x|py_slice(a, b, c)}. */
    static String steppedSlices(String expr) {
        StringBuilder out = new StringBuilder(expr.length());
        int i = 0;
        while (i < expr.length()) {
            char c = expr.charAt(i);
            if (c == '\'' || c == '"') {
                int end = skipString(expr, i);
                out.append(expr, i, end);
                i = end;
                continue;
            }
            if (c == '[' && i > 0 && isOperandEnd(expr, i)) {
                int end = matching(expr, i, '[', ']');
                if (end > 0) {
                    String[] parts = topLevelSplit(expr.substring(i + 1, end), ':');
                    if (parts.length == 3) {
                        out.append("|py_slice(");
                        for (int k = 0; k < 3; k++) {
                            String p = steppedSlices(parts[k].strip());
                            out.append(k > 0 ? ", " : "").append(p.isEmpty() ? "none" : p);
                        }
                        out.append(')');
                        i = end + 1;
                        continue;
                    }
                }
            }
            out.append(c);
            i++;
        }
        return out.toString();
    }

    /** True when the '[' at {@code i} subscripts what precedes it (rather than opening a list literal). */
    private static boolean isOperandEnd(String s, int i) {
        int j = i - 1;
        while (j >= 0 && s.charAt(j) == ' ') {
            j--;
        }
        if (j < 0) {
            return false;
        }
        char p = s.charAt(j);
        return Character.isLetterOrDigit(p) || p == '_' || p == ')' || p == ']' || p == '\'' || p == '"';
    }

    /** Wraps the value of every {@code name=value} call argument in parentheses. */
    static String keywordArguments(String expr) {
        StringBuilder out = new StringBuilder(expr.length() + 8);
        int i = 0;
        while (i < expr.length()) {
            char c = expr.charAt(i);
            if (c == '\'' || c == '"') {
                int end = skipString(expr, i);
                out.append(expr, i, end);
                i = end;
                continue;
            }
            if (c == '(' && i > 0 && (Character.isLetterOrDigit(expr.charAt(i - 1)) || expr.charAt(i - 1) == '_')) {
                int end = matching(expr, i, '(', ')');
                if (end > 0) {
                    String[] args = topLevelSplit(expr.substring(i + 1, end), ',');
                    out.append('(');
                    for (int k = 0; k < args.length; k++) {
                        out.append(k > 0 ? "," : "").append(argument(args[k]));
                    }
                    out.append(')');
                    i = end + 1;
                    continue;
                }
            }
            out.append(c);
            i++;
        }
        return out.toString();
    }

    private static String argument(String arg) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(\\s*[A-Za-z_][A-Za-z0-9_]*\\s*)=(?!=)(.*)$",
                java.util.regex.Pattern.DOTALL).matcher(arg);
        if (m.matches()) {
            String value = m.group(2);
            String inner = keywordArguments(value);
            return m.group(1) + "=(" + inner.strip() + ")" + (value.endsWith(" ") ? " " : "");
        }
        return keywordArguments(arg);
    }

    private static int matching(String s, int open, char o, char c) {
        int depth = 0;
        int i = open;
        while (i < s.length()) {
            char ch = s.charAt(i);
            if (ch == '\'' || ch == '"') {
                i = skipString(s, i);
                continue;
            }
            if (ch == '(' || ch == '[' || ch == '{') {
                depth++;
            } else if (ch == ')' || ch == ']' || ch == '}') {
                depth--;
                if (depth == 0) {
                    return ch == c ? i : -1;
                }
            }
            i++;
        }
        return -1;
    }

    /** Splits at {@code sep} outside brackets and strings. */
    private static String[] topLevelSplit(String s, char sep) {
        java.util.List<String> parts = new java.util.ArrayList<>();
        int depth = 0;
        int start = 0;
        int i = 0;
        while (i < s.length()) {
            char ch = s.charAt(i);
            if (ch == '\'' || ch == '"') {
                i = skipString(s, i);
                continue;
            }
            if (ch == '(' || ch == '[' || ch == '{') {
                depth++;
            } else if (ch == ')' || ch == ']' || ch == '}') {
                depth--;
            } else if (ch == sep && depth == 0) {
                parts.add(s.substring(start, i));
                start = i + 1;
            }
            i++;
        }
        parts.add(s.substring(start));
        return parts.toArray(new String[0]);
    }
}
