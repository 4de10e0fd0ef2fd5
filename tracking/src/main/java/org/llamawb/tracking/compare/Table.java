package org.llamawb.tracking.compare;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Plain-text tables with aligned columns, for the terminal. */
final class Table {
    private Table() {}

    private static final int MAX_CELL = 40;

    static String render(List<String> header, List<List<String>> rows) {
        List<List<String>> all = new ArrayList<>();
        all.add(header);
        all.addAll(rows);
        int cols = header.size();
        int[] width = new int[cols];
        for (List<String> r : all) {
            for (int c = 0; c < cols; c++) {
                width[c] = Math.max(width[c], cell(r, c).length());
            }
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < all.size(); i++) {
            List<String> r = all.get(i);
            for (int c = 0; c < cols; c++) {
                String v = cell(r, c);
                sb.append(v).append(" ".repeat(width[c] - v.length()));
                sb.append(c + 1 < cols ? "  " : "");
            }
            sb.setLength(sb.toString().stripTrailing().length());
            sb.append('\n');
            if (i == 0) {
                int total = 0;
                for (int w : width) {
                    total += w + 2;
                }
                sb.append("-".repeat(Math.max(0, total - 2))).append('\n');
            }
        }
        return sb.toString();
    }

    private static String cell(List<String> r, int c) {
        String v = c < r.size() && r.get(c) != null ? r.get(c) : "";
        return v.length() > MAX_CELL ? v.substring(0, MAX_CELL - 3) + "..." : v;
    }

    /** Up to 6 significant digits, no trailing zeros, scientific only for very large or small values. */
    static String number(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return Double.toString(v);
        }
        double a = Math.abs(v);
        if (a != 0 && (a < 1e-4 || a >= 1e7)) {
            return String.format(Locale.ROOT, "%.4e", v);
        }
        String s = new java.math.BigDecimal(v).round(new java.math.MathContext(6)).stripTrailingZeros().toPlainString();
        return s.equals("-0") ? "0" : s;
    }
}
