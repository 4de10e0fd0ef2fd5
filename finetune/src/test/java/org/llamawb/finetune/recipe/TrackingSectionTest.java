package org.llamawb.finetune.recipe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.model.BadInputException;

/** {@code tracking.tags}: bound in order, kept through the resolved recipe, and checked as MLflow checks tag names. */
class TrackingSectionTest {
    @TempDir
    Path tmp;

    Recipe load(String tracking) throws Exception {
        Path f = Files.writeString(tmp.resolve("r.yaml"), "model: {path: x}\ndata: {sources: [{path: x}]}\ntracking: "
                + tracking + "\n");
        return RecipeLoader.load(f, Recipe.class, List.of());
    }

    @Test
    void tagsBindAndSurviveTheResolvedRecipe() throws Exception {
        Recipe r = load("{experiment: e, tags: {chain: stories260k, stage: '1'}}");
        assertEquals(Map.of("chain", "stories260k", "stage", "1"), r.tracking().tags());
        assertEquals(List.of("chain", "stage"), List.copyOf(r.tracking().tags().keySet()), "in recipe order");
        assertTrue(RecipeLoader.toYaml(r).contains("chain: \"stories260k\"") || RecipeLoader.toYaml(r).contains(
                "chain: stories260k"), RecipeLoader.toYaml(r));
        assertEquals(Map.of(), load("{experiment: e}").tracking().tags());
    }

    @Test
    void badTagsAreNamed() {
        String e = assertThrows(BadInputException.class, () -> load("{tags: {method: x}}")).getMessage();
        assertTrue(e.contains("tracking.tags.method: the workbench sets this tag itself"), e);
        e = assertThrows(BadInputException.class, () -> load("{tags: {mlflow.runName: x}}")).getMessage();
        assertTrue(e.contains("tracking.tags.mlflow.runName: the workbench sets this tag itself"), e);
        e = assertThrows(BadInputException.class, () -> load("{tags: {'a=b': x}}")).getMessage();
        assertTrue(e.contains("tracking.tags: 'a=b' is not a tag name MLflow takes"), e);
        e = assertThrows(BadInputException.class, () -> load("{tags: {chain: ''}}")).getMessage();
        assertTrue(e.contains("tracking.tags.chain: empty value"), e);
    }
}
