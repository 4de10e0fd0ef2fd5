package org.llamawb.eval.task;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.llamawb.eval.LmEvalFixture;
import org.llamawb.eval.Repo;
import org.llamawb.model.TestData;

/**
 * The task YAMLs of recipes/eval/tasks, on the real gauntlet files, build exactly the request strings the
 * reference script gave lm-evaluation-harness (zero-shot and with seeded shots).
 */
class RequestParityTest {

    @Test
    void everyFixtureCaseBuildsTheSameRequests() {
        TestData.require("eval/llmfoundry-eval-gauntlet");
        int checked = 0;
        for (JsonNode c : LmEvalFixture.root().path("tasks")) {
            Task task = Repo.catalog().resolve(c.path("task").asText()).withShots(c.path("shots").asInt());
            assertEquals(c.path("seed").asLong(), task.spec().seed());
            List<TaskExample> examples = ExampleReader.read(task);
            RequestBuilder builder = new RequestBuilder(task.spec(), task.data().toString(), examples);
            for (JsonNode ex : c.path("examples")) {
                Question q = builder.question(ex.path("index").asInt());
                JsonNode reqs = ex.path("requests");
                assertEquals(reqs.size(), q.requests().size(), task.name());
                for (int i = 0; i < reqs.size(); i++) {
                    String what = task.name() + " " + c.path("shots").asInt() + "-shot example " + q.index() + " request " + i;
                    assertEquals(reqs.get(i).path("context").asText(), q.requests().get(i).context(), what);
                    assertEquals(reqs.get(i).path("continuation").asText(), q.requests().get(i).continuation(), what);
                    checked++;
                }
                if (ex.has("gold")) {
                    assertEquals(ex.path("gold").asInt(), q.gold());
                }
            }
        }
        assertEquals(68, checked);
    }

    @Test
    void shotsAreDrawnAsThePythonReferenceDraws() {
        // gauntlet.shot_indices(1234, 0, 2376, 3) and (7, 5, 10, 9) from scripts/reference/eval/gauntlet.py
        assertEquals(List.of(2299, 1796, 898), boxed(ShotSampler.draw(1234, 0, 2376, 3)));
        int[] all = ShotSampler.draw(7, 5, 10, 9);
        assertEquals(9, all.length);
        assertEquals(List.of(3, 2, 9, 0, 1, 8, 7, 6, 4), boxed(all));
    }

    private static List<Integer> boxed(int[] a) {
        return java.util.Arrays.stream(a).boxed().toList();
    }
}
