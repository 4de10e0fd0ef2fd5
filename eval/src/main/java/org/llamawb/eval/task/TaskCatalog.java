package org.llamawb.eval.task;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.llamawb.model.BadInputException;

/**
 * Finds tasks by name in a folder of task YAMLs ({@code recipes/eval/tasks} by default) or by path.
 *
 * @param tasksDir where {@code NAME.yaml} is looked up
 * @param base what relative data paths resolve against (the working directory for the CLI)
 */
public record TaskCatalog(Path tasksDir, Path base) {

    /** {@code arc_easy} (looked up as tasksDir/arc_easy.yaml) or a path to a YAML file. */
    public Task resolve(String nameOrPath) {
        String s = nameOrPath.trim();
        if (s.isEmpty()) {
            throw new BadInputException("empty task name in the task list");
        }
        if (s.endsWith(".yaml") || s.endsWith(".yml") || s.contains("/")) {
            Path p = Path.of(s);
            if (!Files.isRegularFile(p)) {
                throw new BadInputException("task file " + p + " does not exist");
            }
            return Task.load(p, base);
        }
        Path p = tasksDir.resolve(s + ".yaml");
        if (!Files.isRegularFile(p)) {
            throw new BadInputException("unknown task '" + s + "' (no " + p + "; available: " + String.join(", ", names()) + ")");
        }
        return Task.load(p, base);
    }

    public List<Task> resolveAll(List<String> namesOrPaths) {
        List<Task> out = new ArrayList<>();
        for (String s : namesOrPaths) {
            out.add(resolve(s));
        }
        return out;
    }

    /** The task names in the folder, sorted. */
    public List<String> names() {
        if (!Files.isDirectory(tasksDir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(tasksDir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yaml"))
                    .map(n -> n.substring(0, n.length() - 5)).sorted().toList();
        } catch (IOException e) {
            throw new BadInputException(tasksDir + ": cannot list (" + e.getMessage() + ")");
        }
    }
}
