package org.llamawb.eval;

import java.nio.file.Files;
import java.nio.file.Path;
import org.llamawb.eval.task.TaskCatalog;

/** The repository root (where recipes/ lives), found from the test's working directory. */
public final class Repo {
    private Repo() {}

    public static Path root() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("recipes").resolve("eval"))) {
                return p;
            }
        }
        throw new IllegalStateException("recipes/eval not found above " + Path.of("").toAbsolutePath());
    }

    /** The task YAMLs of recipes/eval/tasks, data paths resolved against the repository root. */
    public static TaskCatalog catalog() {
        return new TaskCatalog(root().resolve("recipes/eval/tasks"), root());
    }
}
