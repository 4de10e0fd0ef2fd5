package org.llamawb.eval.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.llamawb.eval.Repo;
import org.llamawb.eval.run.EvalRecipe;
import org.llamawb.eval.score.Packing;
import org.llamawb.config.StrictYaml;
import org.llamawb.model.BadInputException;
import org.llamawb.model.TestData;

/** Every YAML under recipes/eval binds; bad task files fail with one line naming file, line and key. */
class TaskYamlTest {

    @Test
    void everyShippedTaskBindsAndItsDataExists() throws IOException {
        TestData.require("eval");
        List<String> names = Repo.catalog().names();
        assertEquals(List.of("arc_challenge", "arc_easy", "boolq", "copa", "fastchat_dummy_loss", "lambada_openai",
                "mt_bench", "openbookqa", "piqa", "siqa", "vicuna_bench", "winogrande"), names);
        for (String n : names) {
            Task t = Repo.catalog().resolve(n).requireData();
            assertEquals(n, t.name(), "the file name is the task name");
            if (t.spec().kind() != TaskKind.DIALOGUE_LOSS) {
                assertTrue(ExampleReader.read(t).size() >= 80, n);
            }
        }
    }

    @Test
    void everyEvalRecipeBindsAndNamesKnownTasks() throws IOException {
        try (Stream<Path> files = Files.list(Repo.root().resolve("recipes/eval"))) {
            List<Path> recipes = files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
            assertEquals(2, recipes.size());
            for (Path p : recipes) {
                EvalRecipe r = EvalRecipe.read(p);
                assertTrue(r.tasks().size() >= 5, p.toString());
                r.tasks().forEach(Repo.catalog()::resolve);
                assertEquals(Packing.TREE, r.settings().packing());
            }
        }
    }

    @Test
    void defaultsFollowLmEval() {
        TaskSpec s = parse("name: x\nkind: multiple_choice\nfile: f.jsonl\n");
        assertEquals("{query}", s.prompt());
        assertEquals(" ", s.targetDelimiter());
        assertEquals("\n\n", s.fewshotDelimiter());
        assertEquals(0, s.shots());
        assertEquals(TaskSpec.DEFAULT_SEED, s.seed());
        assertEquals("{context}", parse("name: x\nkind: partial_choice\nfile: f\n").prompt());
        TaskSpec em = parse("name: x\nkind: exact_match\nfile: f\nextract: '(\\d+)'\n");
        assertEquals(List.of("\n\n"), em.stop());
        assertEquals(32, em.maxNewTokens());
        assertEquals("answer", em.answerField());
    }

    @Test
    void unknownKeyNamesFileLineKeyAndTheKnownKeys() {
        BadInputException e = assertThrows(BadInputException.class,
                () -> parse("name: x\nkind: multiple_choice\nfile: f\npromt: '{query}'\n"));
        assertTrue(e.getMessage().startsWith("t.yaml: line 4: unknown key 'promt' in task (expected one of: "), e.getMessage());
        assertTrue(e.getMessage().contains("prompt"), e.getMessage());
    }

    @Test
    void keysOfOtherKindsAreRefused() {
        BadInputException e = assertThrows(BadInputException.class,
                () -> parse("name: x\nkind: multiple_choice\nfile: f\nextract: '\\d+'\n"));
        assertTrue(e.getMessage().contains("key 'extract' does not apply to kind multiple_choice"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> parse("name: x\nkind: perplexity\nfile: f\nshots: 2\n"));
        assertTrue(e.getMessage().contains("key 'shots' does not apply to kind perplexity"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> parse("name: x\nkind: multiple_choice\nfile: f\nformat: sharegpt\n"));
        assertTrue(e.getMessage().contains("key 'format' does not apply to kind multiple_choice"), e.getMessage());
    }

    @Test
    void badValuesAreNamed() {
        assertMessage("name: x\nkind: multiple_choise\nfile: f\n", "unknown kind 'multiple_choise' (expected one of: multiple_choice,");
        assertMessage("name: x\nkind: multiple_choice\nfile: f\nshots: many\n", "key 'shots'");
        assertMessage("name: x\nkind: multiple_choice\nfile: f\nshots: -1\n", "key 'shots' must be >= 0");
        assertMessage("name: x\nkind: exact_match\nfile: f\nextract: '(\\d+'\n", "key 'extract' is not a valid regular expression");
        assertMessage("kind: multiple_choice\nfile: f\n", "key 'name' is required");
        assertMessage("name: x\nname: y\nkind: multiple_choice\nfile: f\n", "line 2");
        assertMessage("name: x\nkind: generation\nfile: f\ntemperature: -1\n", "key 'temperature' must be >= 0");
        assertMessage("name: 'x\nkind: b\n", "not valid YAML");
    }

    @Test
    void unknownTaskNameListsTheAvailableOnes() {
        BadInputException e = assertThrows(BadInputException.class, () -> Repo.catalog().resolve("arc_eazy"));
        assertTrue(e.getMessage().contains("unknown task 'arc_eazy'") && e.getMessage().contains("arc_easy"), e.getMessage());
    }

    @Test
    void recipeKeysAreStrictToo() {
        BadInputException e = assertThrows(BadInputException.class,
                () -> StrictYaml.parse("tasks: [copa]\nlimt: 3\n", "r.yaml", EvalRecipe.class, "eval recipe"));
        assertTrue(e.getMessage().startsWith("r.yaml: line 2: unknown key 'limt' in eval recipe"), e.getMessage());
        e = assertThrows(BadInputException.class,
                () -> StrictYaml.parse("tasks: [copa]\npacking: flat\n", "r.yaml", EvalRecipe.class, "eval recipe"));
        assertTrue(e.getMessage().contains("packing must be tree or none, got 'flat'"), e.getMessage());
        e = assertThrows(BadInputException.class,
                () -> StrictYaml.parse("tasks: [copa]\nadapter: a\ncompare_adapter: b\n", "r.yaml", EvalRecipe.class, "eval recipe"));
        assertTrue(e.getMessage().contains("exclude each other"), e.getMessage());
    }

    @Test
    void setOverridesRecipeKeysStrictly() {
        EvalRecipe r = StrictYaml.parse("tasks: [copa]\nlimit: 3\n", "r.yaml", EvalRecipe.class, "eval recipe");
        EvalRecipe o = StrictYaml.override(r, EvalRecipe.class, "eval recipe",
                List.of("limit=50", "tasks=[piqa, boolq]", "add_bos=false", "model=/m"));
        assertEquals(50, o.limit());
        assertEquals(List.of("piqa", "boolq"), o.tasks());
        assertEquals(false, o.addBos());
        assertEquals("/m", o.model());
        BadInputException e = assertThrows(BadInputException.class,
                () -> StrictYaml.override(r, EvalRecipe.class, "eval recipe", List.of("limt=5")));
        assertTrue(e.getMessage().startsWith("--set limt=5: unknown key 'limt' in eval recipe (expected one of: "), e.getMessage());
        e = assertThrows(BadInputException.class,
                () -> StrictYaml.override(r, EvalRecipe.class, "eval recipe", List.of("packing=flat")));
        assertTrue(e.getMessage().contains("packing must be tree or none, got 'flat'"), e.getMessage());
        e = assertThrows(BadInputException.class,
                () -> StrictYaml.override(r, EvalRecipe.class, "eval recipe", List.of("limit=many")));
        assertTrue(e.getMessage().startsWith("--set limit=many: key 'limit'"), e.getMessage());
    }

    private static void assertMessage(String yaml, String expected) {
        BadInputException e = assertThrows(BadInputException.class, () -> parse(yaml));
        assertTrue(e.getMessage().startsWith("t.yaml: ") && e.getMessage().contains(expected), e.getMessage());
    }

    private static TaskSpec parse(String yaml) {
        return StrictYaml.parse(yaml, "t.yaml", TaskSpec.class, "task");
    }
}
