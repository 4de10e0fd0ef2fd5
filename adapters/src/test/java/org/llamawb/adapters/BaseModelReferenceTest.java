package org.llamawb.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code base_model_name_or_path} is something a user can load from anywhere: an absolute path or a Hub id. */
class BaseModelReferenceTest {
    @TempDir
    Path tmp;

    @Test
    void aRelativePathToALocalModelIsWrittenAbsolute() throws Exception {
        Path model = Files.createDirectories(tmp.resolve("models/base"));
        Path cwd = Path.of("").toAbsolutePath();
        String relative = cwd.relativize(model).toString(); // ../../tmp/junit.../models/base, as a recipe may say
        // before: the relative path was written as given, and loaded only from the run's working directory
        assertEquals(model.toAbsolutePath().normalize().toString(), PeftAdapterFormat.baseModelReference(relative));
        assertEquals(model.toString(), PeftAdapterFormat.baseModelReference(model + "/../base"));
    }

    @Test
    void aHubIdOrNothingIsKeptAsGiven() {
        assertEquals("meta-llama/Llama-2-7b-hf", PeftAdapterFormat.baseModelReference("meta-llama/Llama-2-7b-hf"));
        assertEquals(null, PeftAdapterFormat.baseModelReference(null));
    }
}
