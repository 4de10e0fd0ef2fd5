package org.llamawb.adapters;

import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.llamawb.model.BadInputException;

/**
 * Which projections get an adapter, as PEFT's {@code target_modules}: a list of names matched
 * against the end of the module path, a regular expression matched against the whole path, or
 * every linear layer of the decoder ({@code all-linear}, which leaves the LM head out, as PEFT does).
 */
public sealed interface TargetModules {

    /** Projection kinds a LLaMA decoder has. */
    Set<String> KINDS = Set.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    /** Whether the projection at {@code path} (e.g. {@code model.layers.0.self_attn.q_proj}) is targeted. */
    boolean matches(String path);

    /** Module names matched by suffix: {@code q_proj} matches {@code model.layers.3.self_attn.q_proj}. */
    record Names(List<String> names) implements TargetModules {
        public Names {
            if (names.isEmpty()) {
                throw new BadInputException("target_modules: the list is empty");
            }
            names = List.copyOf(names);
        }

        @Override
        public boolean matches(String path) {
            for (String n : names) {
                if (path.equals(n) || path.endsWith("." + n)) {
                    return true;
                }
            }
            return false;
        }
    }

    /** A regular expression that must match the whole module path (PEFT's string form). */
    record Regex(String pattern) implements TargetModules {
        public Regex {
            try {
                Pattern.compile(pattern);
            } catch (RuntimeException e) {
                throw new BadInputException("target_modules: invalid regular expression '" + pattern + "': "
                        + e.getMessage().lines().findFirst().orElse(""));
            }
        }

        @Override
        public boolean matches(String path) {
            return Pattern.compile(pattern).matcher(path).matches();
        }
    }

    /** Every decoder projection ({@code all-linear}). */
    record AllLinear() implements TargetModules {
        @Override
        public boolean matches(String path) {
            return KINDS.contains(path.substring(path.lastIndexOf('.') + 1));
        }
    }

    /** Parses a recipe or PEFT value: {@code all-linear}, a list of names, or a regex string. */
    static TargetModules parse(Object value) {
        if (value instanceof String s) {
            if (s.equals("all-linear")) {
                return new AllLinear();
            }
            return KINDS.contains(s) ? new Names(List.of(s)) : new Regex(s);
        }
        if (value instanceof List<?> list) {
            List<String> names = list.stream().map(String::valueOf).toList();
            for (String n : names) {
                if (!KINDS.contains(n)) {
                    throw new BadInputException("target_modules: unknown module '" + n + "' (expected one of "
                            + String.join(", ", KINDS.stream().sorted().toList()) + ", or all-linear)");
                }
            }
            return new Names(names);
        }
        throw new BadInputException("target_modules: expected a list of module names, a regex or all-linear");
    }
}
