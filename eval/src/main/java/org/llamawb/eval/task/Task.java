package org.llamawb.eval.task;

import java.nio.file.Files;
import java.nio.file.Path;
import org.llamawb.config.StrictYaml;
import org.llamawb.model.BadInputException;

/**
 * A task ready to run: its specification, where it was read from and its data file.
 *
 * @param spec the bound YAML
 * @param source the YAML file (or a description of where the spec came from)
 * @param data the data file, resolved
 */
public record Task(TaskSpec spec, String source, Path data) {

    /** Reads a task YAML; a relative {@code file:} is resolved against {@code base}. */
    public static Task load(Path yaml, Path base) {
        TaskSpec spec = StrictYaml.read(yaml, TaskSpec.class, "task");
        return of(spec, yaml.toString(), base);
    }

    public static Task of(TaskSpec spec, String source, Path base) {
        Path data = Path.of(spec.file());
        if (!data.isAbsolute()) {
            data = base.resolve(data).normalize();
        }
        return new Task(spec, source, data);
    }

    /** Fails with one line when the data file is missing. */
    public Task requireData() {
        if (!Files.isRegularFile(data)) {
            throw new BadInputException(source + ": key 'file': " + data + " does not exist");
        }
        return this;
    }

    public String name() {
        return spec.name();
    }

    public Task withShots(int n) {
        return new Task(spec.withShots(n), source, data);
    }
}
