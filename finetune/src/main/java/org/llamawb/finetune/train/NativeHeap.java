package org.llamawb.finetune.train;

import java.lang.management.ManagementFactory;
import javax.management.JMException;
import javax.management.ObjectName;

/**
 * Gives the C heap's free pages back to the operating system: glibc's {@code malloc_trim(0)}, reached through
 * HotSpot's own diagnostic command {@code System.trim_native_heap} (JDK 17.0.9 and later on Linux with glibc), so no
 * native library is needed.
 *
 * <p>Why: libtorch allocates tensors below glibc's mmap threshold (which rises to 32 MiB once large blocks are freed)
 * from the C heap, and glibc keeps freed heap memory resident for later allocations. A pass without autograd that runs
 * just before a pass under autograd (the DPO and KTO reference pass) leaves its freed temporaries resident, in pieces
 * that the graph-keeping pass cannot all reuse, and they add to the step's peak RSS (measured: a DPO step's peak
 * 1.16-1.24x an SFT step's on the same rows, 1.04x with a fixed 1 MiB mmap threshold, which costs 30-60% step time).
 * Trimming once, between the two passes, returns those pages; it takes about a millisecond.
 *
 * <p>Elsewhere (another JVM, another C library) it does nothing: the command then reports that it is not available, or
 * the call fails once and is not tried again.
 */
public final class NativeHeap {
    /** {@code -Dworkbench.trimNativeHeap=false} turns trimming off (to measure what it saves). */
    private static volatile boolean unavailable = !Boolean.parseBoolean(System.getProperty("workbench.trimNativeHeap", "true"));

    private NativeHeap() {}

    /**
     * After a model is loaded or drawn: a full collection, so that G1 gives back the Java heap that reading, drawing
     * and quantising in Java grew (it shrinks a heap that a full collection leaves mostly free; measured on a
     * TinyLlama-shaped NF4 base: see bench/BENCHMARKS.md), and a trim of the C heap that conversion's temporaries
     * left. Both would otherwise stay resident under every training step. Once per model; about 0.1 s.
     */
    public static void releaseLoadingMemory() {
        System.gc(); // NOPMD: the one place a full collection is wanted, between loading and training
        trim();
    }

    /** Returns the C heap's free pages to the operating system, where the platform can. */
    public static void trim() {
        if (unavailable) {
            return;
        }
        try {
            ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "systemTrimNativeHeap",
                    new Object[] {new String[0]}, new String[] {String[].class.getName()});
        } catch (JMException | RuntimeException e) {
            unavailable = true; // not HotSpot, or a JDK without the command: the peak is only higher
        }
    }
}
