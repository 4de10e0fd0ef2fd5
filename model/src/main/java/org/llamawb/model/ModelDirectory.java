package org.llamawb.model;

import ai.djl.ndarray.NDArray;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;
import org.llamawb.model.generate.GenerationDefaults;
import org.llamawb.model.tokenizer.LlamaTokenizer;
import org.llamawb.model.weights.Checkpoint;
import org.llamawb.model.weights.StorageType;
import org.llamawb.model.weights.WeightSource;

/**
 * Writes a complete Hugging Face model directory that transformers and this workbench load:
 * {@code config.json}, safetensors (sharded above a size, with the index), {@code tokenizer.json} and
 * {@code tokenizer_config.json}, {@code generation_config.json}. The directory appears whole or not at
 * all: everything is written into a temporary sibling that is renamed at the end.
 */
public final class ModelDirectory {
    /** transformers' default shard size. */
    public static final long DEFAULT_SHARD_BYTES = 5L * 1000 * 1000 * 1000;

    private ModelDirectory() {}

    /** Writes a model whose tensors come from a weight source (conversion of a checkpoint). */
    public static void write(Path dir, LlamaConfig config, WeightSource weights, LlamaTokenizer tokenizer,
            GenerationDefaults generation, StorageType dtype, long maxShardBytes) {
        writeAtomically(dir, tmp -> {
            Checkpoint.writeHuggingFace(tmp, config, weights, dtype, maxShardBytes);
            extras(tmp, config, tokenizer, generation);
        });
    }

    /** Writes a model from arrays in memory (a merged or freshly initialised model). */
    public static void write(Path dir, LlamaConfig config, Map<String, NDArray> tensors, LlamaTokenizer tokenizer,
            GenerationDefaults generation, StorageType dtype, long maxShardBytes) {
        writeAtomically(dir, tmp -> {
            Checkpoint.writeHuggingFace(tmp, config, tensors, dtype, maxShardBytes);
            extras(tmp, config, tokenizer, generation);
        });
    }

    private static void extras(Path tmp, LlamaConfig config, LlamaTokenizer tokenizer, GenerationDefaults generation)
            throws IOException {
        if (tokenizer != null) {
            tokenizer.save(tmp);
        }
        if (generation != null) {
            generation.write(tmp, config.bosTokenId());
        }
    }

    /** A body that writes into a folder. */
    @FunctionalInterface
    interface Writer {
        void write(Path tmp) throws IOException;
    }

    static void writeAtomically(Path dir, Writer body) {
        Path abs = dir.toAbsolutePath();
        if (Files.exists(abs) && !isEmptyDirectory(abs)) {
            throw new BadInputException(dir + ": already exists and is not empty (choose another --out)");
        }
        Path tmp = abs.resolveSibling("." + abs.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        try {
            Files.createDirectories(abs.getParent());
            deleteTree(tmp);
            Files.createDirectories(tmp);
            body.write(tmp);
            if (Files.exists(abs)) {
                Files.delete(abs); // an empty directory
            }
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            deleteTree(tmp);
            throw new UncheckedIOException("cannot write " + dir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
    }

    private static boolean isEmptyDirectory(Path p) {
        if (!Files.isDirectory(p)) {
            return false;
        }
        try (Stream<Path> s = Files.list(p)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    /** Deletes a folder and everything in it, if it exists. */
    public static void deleteTree(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path f : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + p, e);
        }
    }
}
