package org.llamawb.distributed;

import java.io.Serializable;
import java.nio.file.Path;
import org.llamawb.eval.task.Task;
import org.llamawb.eval.task.TaskSpec;

/**
 * An evaluation task as it travels to the executors ({@link Path} is not serializable): the bound spec, where it
 * came from, and its data file made absolute, since an executor runs in a working directory of its own.
 */
record ShippedTask(TaskSpec spec, String source, String data) implements Serializable {

    static ShippedTask of(Task task) {
        return new ShippedTask(task.spec(), task.source(), task.data().toAbsolutePath().normalize().toString());
    }

    Task task() {
        return new Task(spec, source, Path.of(data));
    }
}
