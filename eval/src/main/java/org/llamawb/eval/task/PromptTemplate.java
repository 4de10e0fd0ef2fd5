package org.llamawb.eval.task;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.llamawb.model.BadInputException;

/**
 * A prompt with {@code {field}} placeholders, filled from an example's string fields in one pass (a value
 * that itself contains braces is inserted as is). Text outside placeholders is kept verbatim.
 */
public final class PromptTemplate {
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([A-Za-z_][A-Za-z0-9_]*)}");
    private final String template;

    public PromptTemplate(String template) {
        this.template = template;
    }

    /** The filled prompt; {@code source} ("file:line") names the example when a field is missing. */
    public String render(Map<String, String> fields, String source) {
        Matcher m = PLACEHOLDER.matcher(template);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String v = fields.get(m.group(1));
            if (v == null) {
                throw new BadInputException(source + ": the prompt uses {" + m.group(1)
                        + "} but the example has no string field '" + m.group(1) + "'");
            }
            m.appendReplacement(out, Matcher.quoteReplacement(v));
        }
        m.appendTail(out);
        return out.toString();
    }

    @Override
    public String toString() {
        return template;
    }
}
