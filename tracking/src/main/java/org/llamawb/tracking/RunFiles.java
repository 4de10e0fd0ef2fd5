package org.llamawb.tracking;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a run keeps its tracking files, all under {@code <output>/tracking/}: the journal, the record
 * of what each server acknowledged, the lock held while the run is live, and copies of artifacts that
 * live outside the output directory (so a later sync still finds them).
 */
record RunFiles(Path outputDir) {

    static final String DIR = "tracking";

    RunFiles {
        outputDir = outputDir.toAbsolutePath().normalize();
    }

    Path dir() {
        return outputDir.resolve(DIR);
    }

    Path journal() {
        return dir().resolve("journal.jsonl");
    }

    Path delivery() {
        return dir().resolve("delivery.json");
    }

    Path lock() {
        return dir().resolve("run.lock");
    }

    Path staged() {
        return dir().resolve("staged");
    }

    static boolean hasJournal(Path outputDir) {
        return Files.isRegularFile(outputDir.resolve(DIR).resolve("journal.jsonl"));
    }

    /** The journal's reference to a local file: relative when under the output directory. */
    String reference(Path local) {
        Path abs = local.toAbsolutePath().normalize();
        return abs.startsWith(outputDir) ? outputDir.relativize(abs).toString().replace('\\', '/') : abs.toString();
    }

    Path resolve(String reference) {
        Path p = Path.of(reference);
        return p.isAbsolute() ? p : outputDir.resolve(p).normalize();
    }
}
