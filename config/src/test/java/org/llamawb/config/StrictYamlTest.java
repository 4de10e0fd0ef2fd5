package org.llamawb.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.BadInputException;

class StrictYamlTest {
    @TempDir
    Path tmp;

    record Train(double learningRate, Integer maxSteps) {
        Train {
            maxSteps = maxSteps == null ? 1 : maxSteps;
            if (maxSteps < 1) {
                throw new BadInputException("train.max_steps must be > 0, got " + maxSteps);
            }
        }
    }

    record Doc(String name, Train train, @JsonProperty("tags") List<String> tags) {}

    static final String DOC = """
            name: a
            train:
              learning_rate: 0.001
              max_steps: 4
            tags: [x]
            """;

    String error(String yaml, String... sets) throws Exception {
        Path f = Files.writeString(tmp.resolve("d.yaml"), yaml);
        String m = assertThrows(BadInputException.class, () -> StrictYaml.load(f, Doc.class, "doc", List.of(sets))).getMessage();
        assertEquals(1, m.lines().count(), m);
        return m;
    }

    @Test
    void bindsSnakeCaseKeysAndAppliesSetsBeforeBinding() throws Exception {
        Path f = Files.writeString(tmp.resolve("d.yaml"), DOC);
        Doc d = StrictYaml.load(f, Doc.class, "doc", List.of("train.max_steps=9", "tags=[p, q]"));
        assertEquals(new Doc("a", new Train(0.001, 9), List.of("p", "q")), d);
        assertEquals(d, StrictYaml.parse(StrictYaml.toYaml(d), "again", Doc.class, "doc"));
        assertEquals("9", StrictYaml.flatten(d).get("train.max_steps"));
    }

    @Test
    void aSectionGivenTwiceIsRefusedWithItsLine() throws Exception {
        // the first train: section (and its learning rate) would otherwise vanish silently
        String m = error(DOC + "train:\n  max_steps: 5\n");
        assertTrue(m.startsWith(tmp.resolve("d.yaml") + ": line 6: duplicate key 'train' in doc"), m);
    }

    @Test
    void aNestedKeyGivenTwiceIsRefusedWithItsPath() throws Exception {
        String m = error("name: a\ntrain:\n  learning_rate: 0.1\n  max_steps: 2\n  learning_rate: 0.2\n");
        assertTrue(m.contains(": line 5: duplicate key 'train.learning_rate' in doc"), m);
    }

    @Test
    void errorsNameTheLineOfTheKeyInTheFile() throws Exception {
        String m = error(DOC.replace("max_steps: 4", "max_stepz: 4"));
        assertTrue(m.contains(": line 4: unknown key 'train.max_stepz' in doc (expected one of: learning_rate, max_steps)")
                && m.endsWith("(did you mean 'max_steps'?)"), m);
        m = error(DOC.replace("max_steps: 4", "max_steps: many"));
        assertTrue(m.contains(": line 4: key 'train.max_steps': expected an integer"), m);
        m = error(DOC.replace("max_steps: 4", "max_steps: 0"));
        assertTrue(m.contains(": line 2: train.max_steps must be > 0, got 0"), m);
        assertTrue(error("name: [\n").contains(": line 1: not valid YAML"), error("name: [\n"));
        assertTrue(error("- a\n").contains("a doc must be a YAML mapping of keys"));
    }

    @Test
    void errorsFromASetNameTheSet() throws Exception {
        String m = error(DOC, "train.max_stepz=3");
        assertTrue(m.startsWith("--set train.max_stepz=3: unknown key 'train.max_stepz' in doc"), m);
        m = error(DOC, "train.max_steps=0");
        assertTrue(m.startsWith("--set train.max_steps=0: train.max_steps must be > 0"), m);
        m = error(DOC, "train.=3");
        assertTrue(m.startsWith("--set train.=3: expected key.path=value"), m);
        m = error(DOC, "name=[a");
        assertTrue(m.startsWith("--set name=[a: not a YAML value"), m);
    }

    @Test
    void overrideRebindsABoundValue() {
        Doc d = StrictYaml.parse(DOC, "d.yaml", Doc.class, "doc");
        assertEquals(7, StrictYaml.override(d, Doc.class, "doc", List.of("train.max_steps=7")).train().maxSteps());
        String m = assertThrows(BadInputException.class,
                () -> StrictYaml.override(d, Doc.class, "doc", List.of("nme=b"))).getMessage();
        assertTrue(m.startsWith("--set nme=b: unknown key 'nme' in doc (expected one of: name, tags, train)"), m);
    }
}
