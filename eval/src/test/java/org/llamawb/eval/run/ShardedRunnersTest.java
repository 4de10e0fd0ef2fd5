package org.llamawb.eval.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.Repo;
import org.llamawb.eval.Stories260K;
import org.llamawb.eval.metrics.Metric;
import org.llamawb.eval.report.ShardRun;
import org.llamawb.eval.report.TaskRun;
import org.llamawb.eval.task.Shard;
import org.llamawb.eval.task.Task;

/**
 * A task scored in shards and merged is the task scored whole: the seam {@code eval --spark} cuts at, checked in
 * one process (the Spark module checks it across executor JVMs).
 */
class ShardedRunnersTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void contiguousShardsCoverEveryExampleOnceInOrder() {
        for (int n : new int[] {0, 1, 2, 7, 24, 100}) {
            for (int workers = 1; workers <= 5; workers++) {
                int next = 0;
                for (int w = 0; w < workers; w++) {
                    Shard s = new Shard(w, workers);
                    assertEquals(next, s.from(n), n + " over " + workers);
                    assertTrue(s.to(n) >= s.from(n) && s.to(n) - s.from(n) <= n / workers + 1);
                    next = s.to(n);
                }
                assertEquals(n, next);
            }
        }
    }

    /** 1e-6 of the value, at least 1e-6. */
    private static double relative(double v) {
        return 1e-6 * (Double.isFinite(v) ? Math.max(1, Math.abs(v)) : 1);
    }

    @Test
    void threeShardsMergedEqualTheWholeTask() throws Exception {
        EvalModel model = Stories260K.evalModel();
        EvalSettings settings = new EvalSettings(4, null, 1024, 64, org.llamawb.eval.score.Packing.TREE);
        for (String name : List.of("copa", "lambada_openai", "fastchat_dummy_loss")) {
            Task task = Repo.catalog().resolve(name).requireData();
            TaskRun whole = TaskRunners.merge(task, List.of(TaskRunners.score(task, model, settings, Shard.ALL)), 1.0);
            List<ShardRun> shards = new ArrayList<>();
            for (int w = 0; w < 3; w++) {
                shards.add(TaskRunners.score(task, model, settings, new Shard(w, 3)));
            }
            assertEquals(List.of(1, 1, 2), shards.stream().map(ShardRun::examples).toList(), name);
            TaskRun merged = TaskRunners.merge(task, shards, 1.0);
            assertEquals(whole.result().examples(), merged.result().examples(), name);
            assertEquals(whole.result().metrics().keySet(), merged.result().metrics().keySet(), name);
            for (Metric m : whole.result().metrics().values()) {
                // batches of other rows can move a float log-probability's last bits (see the Spark module's test)
                assertEquals(m.value(), merged.result().metrics().get(m.name()).value(), relative(m.value()), name + " " + m.name());
                assertEquals(m.stderr(), merged.result().metrics().get(m.name()).stderr(), relative(m.stderr()),
                        name + " " + m.name());
            }
            assertEquals(whole.records().size(), merged.records().size(), name);
            for (int i = 0; i < whole.records().size(); i++) {
                String a = JSON.writeValueAsString(whole.records().get(i));
                String b = JSON.writeValueAsString(merged.records().get(i));
                assertEquals(JSON.readTree(a).size(), JSON.readTree(b).size(), a + "\n" + b);
                // same example in the same place: its index or id, its sizes and choices
                assertEquals(JSON.readTree(a).path("index"), JSON.readTree(b).path("index"), a + "\n" + b);
                assertEquals(JSON.readTree(a).path("id"), JSON.readTree(b).path("id"), a + "\n" + b);
                assertEquals(JSON.readTree(a).path("pred"), JSON.readTree(b).path("pred"), a + "\n" + b);
                assertEquals(JSON.readTree(a).path("scoredTokens"), JSON.readTree(b).path("scoredTokens"), a + "\n" + b);
            }
        }
    }
}
