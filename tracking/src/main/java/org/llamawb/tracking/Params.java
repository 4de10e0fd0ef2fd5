package org.llamawb.tracking;

import java.lang.reflect.Array;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Flattens a nested configuration (maps, records, lists) into MLflow params with dotted keys, the same
 * keys {@code --set key=value} takes: {@code train.optimizer.lr = 2.0E-4}. A list of plain values stays one
 * param ({@code [q_proj, v_proj]}); a list holding maps is indexed ({@code data.sources.0.path}).
 */
public final class Params {
    private Params() {}

    public static Map<String, String> flatten(Map<String, ?> nested) {
        Map<String, String> out = new LinkedHashMap<>();
        nested.forEach((k, v) -> walk(String.valueOf(k), v, out));
        return out;
    }

    /** Flattens {@code value} under {@code prefix} (e.g. {@code "model"} for a model config record). */
    public static Map<String, String> flatten(String prefix, Object value) {
        Map<String, String> out = new LinkedHashMap<>();
        walk(prefix, value, out);
        return out;
    }

    private static void walk(String key, Object v, Map<String, String> out) {
        if (v instanceof Optional<?> o) {
            walk(key, o.orElse(null), out);
        } else if (v instanceof Map<?, ?> m) {
            if (m.isEmpty()) {
                out.put(key, "{}");
            }
            m.forEach((k, x) -> walk(key.isEmpty() ? String.valueOf(k) : key + "." + k, x, out));
        } else if (v instanceof Record r) {
            for (RecordComponent c : r.getClass().getRecordComponents()) {
                walk(key.isEmpty() ? c.getName() : key + "." + c.getName(), component(r, c), out);
            }
        } else if (v instanceof Collection<?> || (v != null && v.getClass().isArray())) {
            List<Object> items = items(v);
            if (items.stream().allMatch(Params::isPlain)) {
                List<String> shown = new ArrayList<>();
                items.forEach(i -> shown.add(plain(i)));
                out.put(key, "[" + String.join(", ", shown) + "]");
            } else {
                for (int i = 0; i < items.size(); i++) {
                    walk(key + "." + i, items.get(i), out);
                }
            }
        } else {
            out.put(key, plain(v));
        }
    }

    private static Object component(Record r, RecordComponent c) {
        try {
            return c.getAccessor().invoke(r);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read " + c.getName() + " of " + r.getClass().getName(), e);
        }
    }

    private static List<Object> items(Object v) {
        if (v instanceof Collection<?> c) {
            return new ArrayList<>(c);
        }
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < Array.getLength(v); i++) {
            out.add(Array.get(v, i));
        }
        return out;
    }

    private static boolean isPlain(Object v) {
        return !(v instanceof Map<?, ?> || v instanceof Record || v instanceof Collection<?>
                || (v != null && v.getClass().isArray()) || v instanceof Optional<?>);
    }

    private static String plain(Object v) {
        return v == null ? "null" : v.toString();
    }
}
