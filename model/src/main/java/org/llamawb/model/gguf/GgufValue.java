package org.llamawb.model.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * One metadata value of a GGUF file.
 *
 * <p>Scalars are boxed Java values: integers of every width as {@link Long} (unsigned 64-bit values
 * keep their bit pattern), floats as {@link Double}, booleans, strings. Arrays are {@link GgufArray}.
 *
 * @param type the GGUF type it was stored (or will be written) as
 * @param value a {@link Long}, {@link Double}, {@link Boolean}, {@link String} or {@link GgufArray}
 */
public record GgufValue(GgufValueType type, Object value) {

    public GgufValue {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        boolean ok = switch (type) {
            case STRING -> value instanceof String;
            case ARRAY -> value instanceof GgufArray;
            case BOOL -> value instanceof Boolean;
            case FLOAT32, FLOAT64 -> value instanceof Double;
            default -> value instanceof Long;
        };
        if (!ok) {
            throw new IllegalArgumentException("a GGUF " + type + " cannot hold a " + value.getClass().getSimpleName());
        }
    }

    public static GgufValue string(String s) {
        return new GgufValue(GgufValueType.STRING, s);
    }

    public static GgufValue uint32(long v) {
        if (v < 0 || v > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("not a uint32: " + v);
        }
        return new GgufValue(GgufValueType.UINT32, v);
    }

    public static GgufValue int32(int v) {
        return new GgufValue(GgufValueType.INT32, (long) v);
    }

    public static GgufValue uint64(long v) {
        return new GgufValue(GgufValueType.UINT64, v);
    }

    public static GgufValue float32(float v) {
        return new GgufValue(GgufValueType.FLOAT32, (double) v);
    }

    public static GgufValue bool(boolean v) {
        return new GgufValue(GgufValueType.BOOL, v);
    }

    public static GgufValue array(GgufArray a) {
        return new GgufValue(GgufValueType.ARRAY, a);
    }

    /** Human-readable form for messages and inspection; long arrays are abbreviated. */
    @Override
    public String toString() {
        return value instanceof String s ? '"' + s + '"' : value.toString();
    }

    /**
     * A GGUF array: elements of one type, held in a primitive Java array ({@code long[]} for integers,
     * {@code double[]} for floats, {@code boolean[]}, {@code String[]}, or {@code GgufArray[]} when nested).
     *
     * @param elementType type of every element
     * @param values the primitive array
     */
    public record GgufArray(GgufValueType elementType, Object values) {

        public GgufArray {
            Objects.requireNonNull(elementType, "elementType");
            boolean ok = switch (elementType) {
                case STRING -> values instanceof String[];
                case ARRAY -> values instanceof GgufArray[];
                case BOOL -> values instanceof boolean[];
                case FLOAT32, FLOAT64 -> values instanceof double[];
                default -> values instanceof long[];
            };
            if (!ok) {
                throw new IllegalArgumentException("a GGUF array of " + elementType + " cannot hold "
                        + (values == null ? "null" : values.getClass().getSimpleName()));
            }
        }

        public static GgufArray ofStrings(String[] s) {
            return new GgufArray(GgufValueType.STRING, s.clone());
        }

        public static GgufArray ofFloat32(float[] f) {
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) {
                d[i] = f[i];
            }
            return new GgufArray(GgufValueType.FLOAT32, d);
        }

        public static GgufArray ofInt32(int[] v) {
            return new GgufArray(GgufValueType.INT32, Arrays.stream(v).asLongStream().toArray());
        }

        public int length() {
            return java.lang.reflect.Array.getLength(values);
        }

        @Override
        public String toString() {
            int n = length();
            StringBuilder b = new StringBuilder("[");
            for (int i = 0; i < Math.min(n, 6); i++) {
                b.append(i == 0 ? "" : ", ").append(java.lang.reflect.Array.get(values, i));
            }
            return b.append(n > 6 ? ", ... (" + n + " " + elementType + ")]" : "]").toString();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof GgufArray a && a.elementType == elementType
                    && Arrays.deepEquals(new Object[] {a.values}, new Object[] {values});
        }

        @Override
        public int hashCode() {
            return elementType.hashCode() * 31 + Arrays.deepHashCode(new Object[] {values});
        }
    }
}
