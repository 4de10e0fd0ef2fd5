package org.llamawb.eval.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.LmEvalFixture;
import org.llamawb.eval.Repo;
import org.llamawb.eval.Stories260K;
import org.llamawb.eval.metrics.Aggregates;
import org.llamawb.eval.metrics.Metric;
import org.llamawb.eval.report.TaskResult;
import org.llamawb.eval.report.TaskRun;
import org.llamawb.eval.score.EncodedRequest;
import org.llamawb.eval.score.Loglikelihood;
import org.llamawb.eval.score.LoglikelihoodScorer;
import org.llamawb.eval.score.ScoringOptions;
import org.llamawb.eval.task.Task;
import org.llamawb.eval.task.TaskKind;

/**
 * Predictions and metrics equal lm-evaluation-harness': from the fixture's token ids (no tokenizer needed),
 * and end to end from the task YAML through tokenizer, scorer and aggregation.
 */
class ChoiceTaskParityTest {

    @Test
    void predictionsAndMetricsFromTheSameTokens() {
        LoglikelihoodScorer scorer = new LoglikelihoodScorer(Stories260K.model(), ScoringOptions.defaults(512));
        int cases = 0;
        for (JsonNode c : LmEvalFixture.root().path("tasks")) {
            TaskKind kind = TaskKind.fromYaml(c.path("kind").asText());
            List<Double> acc = new ArrayList<>();
            List<Double> norm = new ArrayList<>();
            List<Double> lls = new ArrayList<>();
            for (JsonNode ex : c.path("examples")) {
                List<EncodedRequest> reqs = new ArrayList<>();
                List<String> normTexts = new ArrayList<>();
                for (JsonNode r : ex.path("requests")) {
                    reqs.add(LmEvalFixture.request(r).encoded());
                }
                List<Loglikelihood> got = scorer.score(reqs);
                double[] ll = got.stream().mapToDouble(Loglikelihood::logprob).toArray();
                if (kind == TaskKind.COMPLETION) {
                    acc.add(got.get(0).greedy() ? 1.0 : 0.0);
                    lls.add(ll[0]);
                    continue;
                }
                int pred = Aggregates.argmax(ll);
                assertEquals(ex.path("pred").asInt(), pred, c.path("task").asText() + " example " + ex.path("index"));
                acc.add(pred == ex.path("gold").asInt() ? 1.0 : 0.0);
                if (kind == TaskKind.MULTIPLE_CHOICE) {
                    for (JsonNode r : ex.path("requests")) {
                        normTexts.add(r.path("continuation").asText().substring(1)); // the choice, without the delimiter
                    }
                    int predNorm = Aggregates.argmaxNormalised(ll, normTexts);
                    assertEquals(ex.path("pred_norm").asInt(), predNorm);
                    norm.add(predNorm == ex.path("gold").asInt() ? 1.0 : 0.0);
                }
            }
            JsonNode m = c.path("metrics");
            assertMetric(m, "acc", acc);
            if (kind == TaskKind.MULTIPLE_CHOICE) {
                assertMetric(m, "acc_norm", norm);
            }
            if (kind == TaskKind.COMPLETION) {
                double ppl = Aggregates.perplexity(lls.stream().mapToDouble(Double::doubleValue).toArray());
                assertEquals(m.path("perplexity").asDouble(), ppl, m.path("perplexity").asDouble() * 1e-4);
            }
            cases++;
        }
        assertEquals(12, cases);
    }

    private static void assertMetric(JsonNode m, String name, List<Double> perExample) {
        double[] v = perExample.stream().mapToDouble(Double::doubleValue).toArray();
        Metric got = Metric.mean(name, v);
        assertEquals(m.path(name).asDouble(), got.value(), 1e-12, name);
        if (m.path(name + "_stderr").isNull()) {
            assertTrue(Double.isNaN(got.stderr()));
        } else {
            assertEquals(m.path(name + "_stderr").asDouble(), got.stderr(), 1e-8, name + "_stderr");
        }
    }

    @Test
    void runnerEndToEndMatchesTheZeroShotCases() {
        EvalModel model = Stories260K.evalModel();
        int checked = 0;
        for (JsonNode c : LmEvalFixture.root().path("tasks")) {
            JsonNode examples = c.path("examples");
            boolean prefix = true;
            for (int i = 0; i < examples.size(); i++) {
                prefix &= examples.get(i).path("index").asInt() == i;
            }
            if (c.path("shots").asInt() != 0 || !prefix) {
                continue;
            }
            Task task = Repo.catalog().resolve(c.path("task").asText());
            TaskRun run = ChoiceTaskRunner.run(task, model, ScoringOptions.defaults(512), examples.size());
            TaskResult r = run.result();
            assertEquals(examples.size(), r.examples());
            assertEquals(c.path("metrics").path("acc").asDouble(), r.metrics().get("acc").value(), 1e-12, task.name());
            if (r.metrics().containsKey("acc_norm")) {
                assertEquals(c.path("metrics").path("acc_norm").asDouble(), r.metrics().get("acc_norm").value(), 1e-12);
            }
            for (int i = 0; i < examples.size(); i++) {
                ChoiceTaskRunner.Sample s = (ChoiceTaskRunner.Sample) run.records().get(i);
                JsonNode reqs = examples.get(i).path("requests");
                for (int j = 0; j < reqs.size(); j++) {
                    assertEquals(reqs.get(j).path("loglikelihood").asDouble(), s.loglikelihoods()[j], 1e-4);
                    assertEquals(reqs.get(j).path("greedy").asBoolean(), s.greedy()[j]);
                }
            }
            checked++;
        }
        assertEquals(9, checked);
    }
}
