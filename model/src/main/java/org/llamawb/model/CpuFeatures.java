package org.llamawb.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The instruction-set flags the operating system reports for this CPU ({@code /proc/cpuinfo}'s {@code flags} on
 * x86-64, {@code Features} on arm64), as far as the choice of GEMM precision needs them.
 *
 * @param source where the flags were read, for messages (e.g. {@code /proc/cpuinfo})
 * @param flags the lower-case flags of the first processor listed (all cores of one machine list the same)
 */
public record CpuFeatures(String source, Set<String> flags) {

    /** The flags that mean bfloat16 dot products in hardware: AMX tiles, AVX-512 BF16, Armv8.6 BF16. */
    static final List<String> BF16 = List.of("amx_bf16", "avx512_bf16", "bf16");

    public CpuFeatures {
        flags = Set.copyOf(flags);
    }

    /** This machine's flags; none (so no bf16) where {@code /proc/cpuinfo} cannot be read, e.g. off Linux. */
    public static CpuFeatures probe() {
        return read(Path.of("/proc/cpuinfo"));
    }

    static CpuFeatures read(Path cpuinfo) {
        try {
            return parse(cpuinfo.toString(), Files.readAllLines(cpuinfo));
        } catch (IOException | RuntimeException e) {
            return new CpuFeatures(cpuinfo + " (unreadable)", Set.of());
        }
    }

    /** The flags of the first {@code flags:} or {@code Features:} line of a cpuinfo listing. */
    static CpuFeatures parse(String source, List<String> lines) {
        for (String line : lines) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String key = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            if (key.equals("flags") || key.equals("features")) {
                Set<String> flags = new TreeSet<>();
                for (String flag : line.substring(colon + 1).trim().toLowerCase(Locale.ROOT).split("\\s+")) {
                    if (!flag.isEmpty()) {
                        flags.add(flag);
                    }
                }
                return new CpuFeatures(source, flags);
            }
        }
        return new CpuFeatures(source, Set.of());
    }

    /** The bfloat16 flags present, comma-separated (e.g. {@code amx_bf16,avx512_bf16}), or empty if there are none. */
    public Optional<String> bf16Instructions() {
        List<String> present = BF16.stream().filter(flags::contains).toList();
        return present.isEmpty() ? Optional.empty() : Optional.of(String.join(",", present));
    }
}
