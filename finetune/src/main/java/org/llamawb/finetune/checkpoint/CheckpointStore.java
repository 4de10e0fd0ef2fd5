package org.llamawb.finetune.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.llamawb.model.BadInputException;
import org.llamawb.model.ModelDirectory;
import org.llamawb.model.weights.Safetensors;
import org.llamawb.model.weights.SafetensorsWriter;
import org.llamawb.model.weights.StorageType;

/**
 * The checkpoints of one run directory: {@code checkpoint-000120/} each, newest kept, older pruned.
 *
 * <p>Layout of a checkpoint: {@code adapter/} (PEFT format, written by the caller) or
 * {@code trainable.safetensors} (full fine-tuning), {@code optimizer.safetensors} (AdamW moments),
 * {@code trainer_state.json}, {@code recipe.yaml}, and {@code checksums.crc32c} (a CRC-32C of every other
 * file but the state, so a checkpoint damaged after it was written is recognised). It is assembled in
 * {@code .tmp-checkpoint-000120/} and renamed in one step.
 */
public final class CheckpointStore {
    public static final String PREFIX = "checkpoint-";
    public static final String STATE_FILE = "trainer_state.json";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    public static final String TRAINABLE_FILE = "trainable.safetensors";
    public static final String RECIPE_FILE = "recipe.yaml";
    public static final String ADAPTER_DIR = "adapter";
    public static final String CHECKSUMS_FILE = "checksums.crc32c";
    /** Prefix of a checkpoint taken out of the run's lineage (damaged, or newer than the one resumed from). */
    public static final String SET_ASIDE_PREFIX = "set-aside-";

    private final Path runDir;
    private final int keepLast;

    public CheckpointStore(Path runDir, int keepLast) {
        this.runDir = runDir;
        this.keepLast = keepLast;
    }

    /** What goes into the checkpoint directory besides the state (adapter files, tensors). */
    @FunctionalInterface
    public interface Contents {
        void write(Path dir) throws IOException;
    }

    /**
     * Writes checkpoint {@code state.step()} atomically and prunes older ones beyond {@code keepLast}.
     *
     * @return the checkpoint directory
     */
    public Path save(TrainerState state, Map<String, NDArray> optimizerState, String recipeYaml, Contents contents) {
        String name = String.format("%s%06d", PREFIX, state.step());
        Path done = runDir.resolve(name);
        Path tmp = runDir.resolve(".tmp-" + name);
        Path writing = tmp; // the caller's contents: which of its files is found after a failure
        try {
            Files.createDirectories(runDir);
            ModelDirectory.deleteTree(tmp);
            Files.createDirectories(tmp);
            contents.write(tmp);
            SafetensorsWriter w = new SafetensorsWriter(StorageType.F32);
            optimizerState.forEach(w::add);
            writing = tmp.resolve(OPTIMIZER_FILE);
            w.writeFile(writing);
            writing = tmp.resolve(RECIPE_FILE);
            Files.writeString(writing, recipeYaml, StandardCharsets.UTF_8);
            writing = tmp.resolve(CHECKSUMS_FILE);
            Files.writeString(writing, checksums(tmp), StandardCharsets.UTF_8);
            writing = tmp.resolve(STATE_FILE);
            state.write(writing); // last: a checkpoint without it is never considered
            writing = done;
            if (Files.exists(done)) {
                ModelDirectory.deleteTree(done);
            }
            Files.move(tmp, done, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | UncheckedIOException e) {
            Path file = writing.equals(tmp) ? newestFile(tmp).orElse(tmp) : writing;
            ModelDirectory.deleteTree(tmp);
            if (isDiskFull(e)) {
                // the environment, not a bug: one line naming the device and the file, no trace
                throw new BadInputException("no space left on " + device(runDir) + " while writing " + file
                        + " (the partial checkpoint was removed)");
            }
            throw new UncheckedIOException("cannot write checkpoint " + done + ": " + e.getMessage(),
                    e instanceof UncheckedIOException u ? u.getCause() : (IOException) e);
        }
        prune();
        return done;
    }

    /** Whether {@code e} or a cause is the operating system's ENOSPC ("No space left on device"). */
    static boolean isDiskFull(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof IOException && String.valueOf(c.getMessage()).contains("No space left on device")) {
                return true;
            }
        }
        return false;
    }

    /** The device (file store) holding {@code dir}, as the operating system names it. */
    private static String device(Path dir) {
        try {
            return Files.getFileStore(dir).name();
        } catch (IOException | RuntimeException e) {
            return "the device of " + dir;
        }
    }

    /** The most recently modified file under {@code dir}: the one a failed writer was writing. */
    private static Optional<Path> newestFile(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).max(Comparator.comparing(p -> {
                try {
                    return Files.getLastModifiedTime(p).toMillis();
                } catch (IOException e) {
                    return 0L;
                }
            }));
        } catch (IOException | UncheckedIOException e) {
            return Optional.empty();
        }
    }

    /** Complete checkpoints, oldest first (temporary directories of an interrupted write are ignored). */
    public List<Path> list() {
        if (!Files.isDirectory(runDir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(runDir)) {
            return s.filter(p -> p.getFileName().toString().startsWith(PREFIX))
                    .filter(p -> Files.isRegularFile(p.resolve(STATE_FILE)))
                    .sorted(Comparator.comparing(p -> p.getFileName().toString()))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The newest complete checkpoint, if any. Leftovers of interrupted writes are removed. */
    public Optional<Path> latest() {
        cleanInterrupted();
        List<Path> all = list();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    /** Removes what an interrupted write ({@code .tmp-}) or prune ({@code .old-}) left behind. */
    private void cleanInterrupted() {
        if (!Files.isDirectory(runDir)) {
            return;
        }
        try (Stream<Path> s = Files.list(runDir)) {
            s.filter(p -> p.getFileName().toString().startsWith(".tmp-" + PREFIX)
                    || p.getFileName().toString().startsWith(".old-" + PREFIX)).forEach(ModelDirectory::deleteTree);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Deletes checkpoints beyond the newest {@code keepLast}. Each is first renamed out of the way in one
     * step, so a kill during deletion never leaves a partial {@code checkpoint-*} directory.
     */
    private void prune() {
        List<Path> all = new ArrayList<>(list());
        while (all.size() > keepLast) {
            Path old = all.remove(0);
            Path doomed = old.resolveSibling(".old-" + old.getFileName());
            try {
                Files.move(old, doomed, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot remove old checkpoint " + old, e);
            }
            ModelDirectory.deleteTree(doomed);
        }
    }

    /** {@code crc32c-hex relative/path} per file of {@code dir} (sorted; the state and this list excluded). */
    static String checksums(Path dir) throws IOException {
        StringBuilder sb = new StringBuilder();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path f : s.filter(Files::isRegularFile).sorted().toList()) {
                String rel = dir.relativize(f).toString().replace('\\', '/');
                if (!rel.equals(STATE_FILE) && !rel.equals(CHECKSUMS_FILE)) {
                    sb.append(String.format("%08x", crc32c(f))).append(' ').append(rel).append('\n');
                }
            }
        }
        return sb.toString();
    }

    private static long crc32c(Path f) throws IOException {
        CRC32C crc = new CRC32C();
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(f)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                crc.update(buf, 0, n);
            }
        }
        return crc.getValue();
    }

    /**
     * Why {@code checkpoint} cannot be resumed from, or empty when it can: its trainer state must read, its
     * recipe, optimiser state and trained tensors (adapter or full) must be there and open, and every file
     * must match {@code checksums.crc32c} (checkpoints written before that file existed get the other checks).
     */
    public static Optional<String> problem(Path checkpoint) {
        try {
            if (!Files.isDirectory(checkpoint)) {
                return Optional.of("not a directory");
            }
            TrainerState state = readState(checkpoint);
            if (state.step() < 0 || state.losses().size() != state.step()) {
                return Optional.of(STATE_FILE + " holds " + state.losses().size() + " losses for step " + state.step());
            }
            Path manifest = checkpoint.resolve(CHECKSUMS_FILE);
            if (Files.isRegularFile(manifest)) {
                for (String line : Files.readAllLines(manifest, StandardCharsets.UTF_8)) {
                    int sp = line.indexOf(' ');
                    if (sp != 8) {
                        return Optional.of(CHECKSUMS_FILE + " is damaged (line '" + line + "')");
                    }
                    Path f = checkpoint.resolve(line.substring(sp + 1));
                    if (!Files.isRegularFile(f)) {
                        return Optional.of(line.substring(sp + 1) + " is missing");
                    }
                    if (crc32c(f) != Long.parseLong(line.substring(0, sp), 16)) {
                        return Optional.of(line.substring(sp + 1) + " does not match its checksum (damaged after it was written)");
                    }
                }
            }
            if (!Files.isRegularFile(checkpoint.resolve(RECIPE_FILE))) {
                return Optional.of(RECIPE_FILE + " is missing");
            }
            Path adapter = checkpoint.resolve(ADAPTER_DIR).resolve("adapter_model.safetensors");
            Path trained = Files.isDirectory(checkpoint.resolve(ADAPTER_DIR)) ? adapter : checkpoint.resolve(TRAINABLE_FILE);
            for (Path f : List.of(checkpoint.resolve(OPTIMIZER_FILE), trained)) {
                if (!Files.isRegularFile(f)) {
                    return Optional.of(checkpoint.relativize(f) + " is missing");
                }
                Safetensors.open(f).close(); // header, offsets and length: a truncated file fails here
            }
            return Optional.empty();
        } catch (BadInputException e) {
            return Optional.of(e.getMessage().replace(checkpoint + "/", "").replace(checkpoint.toString(), ""));
        } catch (IOException | UncheckedIOException | NumberFormatException e) {
            return Optional.of(e.toString());
        }
    }

    /**
     * The newest checkpoint that {@link #problem} accepts; each newer damaged one is reported to {@code warn}
     * with what is wrong. Empty when there is no checkpoint; an error when there are some but none is usable.
     */
    public Optional<Path> latestUsable(java.util.function.Consumer<String> warn) {
        cleanInterrupted();
        List<Path> all = list();
        for (int i = all.size() - 1; i >= 0; i--) {
            Path c = all.get(i);
            Optional<String> p = problem(c);
            if (p.isEmpty()) {
                return Optional.of(c);
            }
            warn.accept("warning: " + c.getFileName() + " cannot be resumed from (" + p.get() + ")"
                    + (i > 0 ? "; trying the one before it" : ""));
        }
        if (!all.isEmpty()) {
            throw new BadInputException(runDir + ": no usable checkpoint (see the warnings above); name one with "
                    + "--resume-from DIR or start again in a new output.dir");
        }
        return Optional.empty();
    }

    /** The checkpoints of this directory newer than {@code resumed}: they belong to a lineage being abandoned. */
    public List<Path> newerThan(Path resumed) {
        String name = resumed.getFileName().toString();
        return list().stream().filter(c -> c.getFileName().toString().compareTo(name) > 0).toList();
    }

    /**
     * Renames {@code checkpoint} to {@code set-aside-checkpoint-…} (replacing an older set-aside copy), so that
     * it is neither resumed from nor counted by {@code keep_last} pruning, but kept for inspection.
     *
     * @return the new name
     */
    public static Path setAside(Path checkpoint) {
        Path to = checkpoint.resolveSibling(SET_ASIDE_PREFIX + checkpoint.getFileName());
        try {
            ModelDirectory.deleteTree(to);
            Files.move(checkpoint, to, StandardCopyOption.ATOMIC_MOVE);
            return to;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot set aside " + checkpoint, e);
        }
    }

    public static TrainerState readState(Path checkpoint) {
        Path f = checkpoint.resolve(STATE_FILE);
        if (!Files.isRegularFile(f)) {
            throw new BadInputException(checkpoint + ": not a checkpoint (no " + STATE_FILE + ")");
        }
        return TrainerState.read(f);
    }

    /** Reads a safetensors file of a checkpoint into float arrays by name. */
    public static Map<String, float[]> readTensors(Path file) {
        Map<String, float[]> out = new LinkedHashMap<>();
        try (Safetensors st = Safetensors.open(file); NDManager m = NDManager.newBaseManager()) {
            for (String n : st.names()) {
                try (NDArray a = st.load(n, m)) {
                    out.put(n, a.toFloatArray());
                }
            }
        }
        return out;
    }

    /** Writes trainable tensors (full fine-tuning) as a safetensors file in {@code dir}. */
    public static void writeTrainable(Path dir, Map<String, NDArray> tensors) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter(StorageType.F32);
        tensors.forEach(w::add);
        w.writeFile(dir.resolve(TRAINABLE_FILE));
    }
}
