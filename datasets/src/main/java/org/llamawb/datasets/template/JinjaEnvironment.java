package org.llamawb.datasets.template;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.objects.date.StrftimeFormatter;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jinjava.javax.el.CompositeELResolver;

/**
 * A Jinjava engine set up like Hugging Face's chat-template environment ({@code trim_blocks},
 * {@code lstrip_blocks}, {@code raise_exception}, {@code strftime_now}, {@code tojson} as
 * {@code json.dumps}, Python's {@code trim}/{@code str} methods) plus the {@code {% generation %}} block
 * that marks trained text.
 */
final class JinjaEnvironment {
    /** Private-use characters wrapped around {@code {% generation %}} output, removed after rendering. */
    static final char GENERATION_START = '\uE000';
    static final char GENERATION_END = '\uE001';

    private JinjaEnvironment() {}

    /** Thrown by {@code raise_exception(message)} inside a template. */
    static final class Raised extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Raised(String message) {
            super(message, null, false, false);
        }
    }

    static Jinjava create() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStringMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withElResolver(resolver)
                .withFailOnUnknownTokens(false)
                // Message contents are data: text like "{{ x }}" inside them must never be rendered again.
                .withNestedInterpretationEnabled(false)
                // Python Jinja's semantics where Jinjava's defaults differ: filter-before-'+' precedence,
                // '{{-' trimming, evaluated dict keys, iteration over dict keys, Python-style printing.
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseNaturalOperatorPrecedence(true)
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withEvaluateMapKeys(true)
                        .withIterateOverMapKeys(true)
                        .withUsePyishObjectMapper(true)
                        .withKeepNullableLoopValues(true)
                        .build())
                .build();
        Jinjava j = new Jinjava(config);
        var ctx = j.getGlobalContext();
        ctx.registerFunction(new ELFunctionDefinition("", "raise_exception", JinjaEnvironment.class, "raiseException", String.class));
        ctx.registerFunction(new ELFunctionDefinition("", "strftime_now", JinjaEnvironment.class, "strftimeNow", String.class));
        ctx.registerFilter(new ToJson());
        ctx.registerFilter(new Trim());
        ctx.registerFilter(new Items());
        ctx.registerFilter(new PySlice());
        ctx.registerTag(new Generation());
        return j;
    }

    /** {@code raise_exception(message)}: aborts rendering with the template's own message. */
    public static String raiseException(String message) {
        throw new Raised(message);
    }

    /** {@code strftime_now(format)}: the local time in Python strftime format. */
    public static String strftimeNow(String format) {
        return StrftimeFormatter.format(ZonedDateTime.now(), format, Locale.US);
    }

    /** {@code tojson(indent=None)} as {@code json.dumps(..., ensure_ascii=False)}. */
    static final class ToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            Integer indent = args.length > 0 && args[0] != null ? Integer.valueOf(args[0]) : null;
            return PythonJson.dumps(var, indent);
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
            return PythonJson.dumps(var, indent == null ? null : ((Number) indent).intValue());
        }
    }

    /** {@code trim(chars=None)} as Python's {@code str.strip}. */
    static final class Trim implements Filter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            String s = var == null ? "" : var.toString();
            return args.length > 0 && args[0] != null ? PyStrings.strip(s, args[0]) : PyStrings.strip(s);
        }
    }

    /** {@code items}: a mapping's {@code (key, value)} pairs, as Python's {@code dict.items()}. */
    static final class Items implements Filter {
        @Override
        public String getName() {
            return "items";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            List<List<Object>> out = new ArrayList<>();
            if (var instanceof Map<?, ?> m) {
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    out.add(Arrays.asList(e.getKey(), e.getValue()));
                }
            }
            return out;
        }
    }

    /**
     * {@code py_slice(start, stop, step)}: Python's {@code x[start:stop:step]} on a list or string (what
     * {@link PythonJinjaSyntax} turns stepped slices into).
     */
    static final class PySlice implements Filter {
        @Override
        public String getName() {
            return "py_slice";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, (Object[]) args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Long start = index(args, 0);
            Long stop = index(args, 1);
            Long stepArg = index(args, 2);
            long step = stepArg == null ? 1 : stepArg;
            if (step == 0) {
                throw new IllegalArgumentException("slice step cannot be zero");
            }
            List<Object> items = new ArrayList<>();
            if (var instanceof String s) {
                s.codePoints().forEach(cp -> items.add(new String(Character.toChars(cp))));
            } else if (var instanceof Iterable<?> it) {
                it.forEach(items::add);
            } else if (var != null) {
                throw new IllegalArgumentException("cannot slice a " + var.getClass().getSimpleName());
            }
            int n = items.size();
            long lo = step > 0 ? bound(start, n, 0) : bound(start, n, n - 1, -1, n - 1);
            long hi = step > 0 ? bound(stop, n, n) : bound(stop, n, -1, -1, n - 1);
            List<Object> out = new ArrayList<>();
            for (long i = lo; step > 0 ? i < hi : i > hi; i += step) {
                out.add(items.get((int) i));
            }
            if (var instanceof String) {
                StringBuilder sb = new StringBuilder();
                out.forEach(sb::append);
                return sb.toString();
            }
            return out;
        }

        private static Long index(Object[] args, int k) {
            if (args == null || args.length <= k || args[k] == null) {
                return null;
            }
            return ((Number) args[k]).longValue();
        }

        /** Python's slice bound for a positive step: negative counts from the end, clamped to [0, n]. */
        private static long bound(Long v, int n, long dflt) {
            if (v == null) {
                return dflt;
            }
            long x = v < 0 ? v + n : v;
            return Math.max(0, Math.min(n, x));
        }

        /** Python's slice bound for a negative step: clamped to [lowest, highest]. */
        private static long bound(Long v, int n, long dflt, long lowest, long highest) {
            if (v == null) {
                return dflt;
            }
            long x = v < 0 ? v + n : v;
            return Math.max(lowest, Math.min(highest, x));
        }
    }

    /** {@code {% generation %}…{% endgeneration %}}: marks the assistant text a template wants trained. */
    static final class Generation implements Tag {
        private static final long serialVersionUID = 1L;

        @Override
        public String getName() {
            return "generation";
        }

        @Override
        public String getEndTagName() {
            return "endgeneration";
        }

        @Override
        public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
            StringBuilder sb = new StringBuilder().append(GENERATION_START);
            for (Node child : tagNode.getChildren()) {
                sb.append(child.render(interpreter).getValue());
            }
            return sb.append(GENERATION_END).toString();
        }
    }
}
