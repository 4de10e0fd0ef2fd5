package org.llamawb.datasets.template;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Python's {@code str} methods on strings inside templates ({@code content.strip()},
 * {@code content.startswith('<tool_response>')}, {@code '\n'.join(parts)}, ...), which chat templates
 * call and Jinjava would otherwise resolve to Java's {@code String} methods or reject.
 */
final class PythonStringMethods extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || method == null) {
            return null;
        }
        Object[] p = params == null ? new Object[0] : params;
        Object result = call(s, method.toString(), p);
        if (result != NOT_HANDLED) {
            context.setPropertyResolved(true);
            return result;
        }
        return null;
    }

    private static final Object NOT_HANDLED = new Object();

    private static Object call(String s, String name, Object[] p) {
        switch (name) {
            case "strip":
                return p.length == 0 || p[0] == null ? PyStrings.strip(s) : PyStrings.strip(s, p[0].toString());
            case "lstrip":
                return p.length == 0 || p[0] == null ? PyStrings.lstrip(s) : PyStrings.lstrip(s, p[0].toString());
            case "rstrip":
                return p.length == 0 || p[0] == null ? PyStrings.rstrip(s) : PyStrings.rstrip(s, p[0].toString());
            case "startswith":
                return anyOf(p[0], prefix -> s.startsWith(prefix));
            case "endswith":
                return anyOf(p[0], suffix -> s.endsWith(suffix));
            case "lower":
                return s.toLowerCase(Locale.ROOT);
            case "upper":
                return s.toUpperCase(Locale.ROOT);
            case "title":
                return title(s);
            case "capitalize":
                return s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
            case "split":
                return split(s, p.length > 0 && p[0] != null ? p[0].toString() : null,
                        p.length > 1 ? ((Number) p[1]).intValue() : -1);
            case "splitlines":
                return new ArrayList<>(s.lines().toList());
            case "replace":
                return replace(s, p[0].toString(), p[1].toString(), p.length > 2 ? ((Number) p[2]).intValue() : -1);
            case "find":
                return (long) s.indexOf(p[0].toString());
            case "rfind":
                return (long) s.lastIndexOf(p[0].toString());
            case "count":
                return (long) count(s, p[0].toString());
            case "join":
                return join(s, p[0]);
            case "isdigit":
                return !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isalpha":
                return !s.isEmpty() && s.chars().allMatch(Character::isLetter);
            case "isspace":
                return !s.isEmpty() && s.chars().allMatch(c -> PyStrings.isSpace((char) c));
            default:
                return NOT_HANDLED;
        }
    }

    private static boolean anyOf(Object arg, java.util.function.Predicate<String> test) {
        if (arg instanceof Collection<?> c) {
            return c.stream().anyMatch(o -> test.test(String.valueOf(o)));
        }
        return test.test(String.valueOf(arg));
    }

    private static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean prevCased = false;
        for (char c : s.toCharArray()) {
            sb.append(prevCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
            prevCased = Character.isLetter(c);
        }
        return sb.toString();
    }

    private static List<String> split(String s, String sep, int max) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            for (String part : PyStrings.strip(s).split("[\\s\\u0085\\u001c-\\u001f]+", max < 0 ? -1 : max + 1)) {
                if (!part.isEmpty()) {
                    out.add(part);
                }
            }
            return out;
        }
        int from = 0;
        int idx;
        while ((max < 0 || out.size() < max) && (idx = s.indexOf(sep, from)) >= 0) {
            out.add(s.substring(from, idx));
            from = idx + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    private static String replace(String s, String old, String neu, int max) {
        if (max < 0) {
            return s.replace(old, neu);
        }
        StringBuilder sb = new StringBuilder();
        int from = 0;
        int n = 0;
        int idx;
        while (n < max && (idx = s.indexOf(old, from)) >= 0) {
            sb.append(s, from, idx).append(neu);
            from = idx + old.length();
            n++;
        }
        return sb.append(s.substring(from)).toString();
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.length() + 1;
        }
        int n = 0;
        int idx = 0;
        while ((idx = s.indexOf(sub, idx)) >= 0) {
            n++;
            idx += sub.length();
        }
        return n;
    }

    private static String join(String sep, Object items) {
        StringBuilder sb = new StringBuilder();
        boolean first = true;
        if (items instanceof Iterable<?> it) {
            for (Object o : it) {
                if (!first) {
                    sb.append(sep);
                }
                sb.append(o);
                first = false;
            }
        }
        return sb.toString();
    }

    // Property access is left to the other resolvers.
    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {}

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
