package org.llamawb.eval.generation;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.metrics.Metric;
import org.llamawb.eval.report.TaskResult;
import org.llamawb.eval.report.TaskRun;
import org.llamawb.eval.task.ExampleReader;
import org.llamawb.eval.task.Task;
import org.llamawb.eval.task.TaskExample;
import org.llamawb.eval.task.TaskSpec;
import org.llamawb.model.generate.Sampling;

/**
 * Answers MT-bench / Vicuna-bench questions turn by turn: each turn is appended to the conversation, the
 * conversation is rendered with the chat template and the model's answer becomes the next assistant turn.
 * The records are FastChat's model-answer JSONL ({@code question_id, answer_id, model_id,
 * choices: [{index, turns}], tstamp}), ready for its LLM judge.
 */
public final class GenerationTaskRunner {

    /** One line of FastChat's answer file. */
    public record Answer(@JsonProperty("question_id") Object questionId, @JsonProperty("answer_id") String answerId,
            @JsonProperty("model_id") String modelId, @JsonProperty("choices") List<Map<String, Object>> choices,
            @JsonProperty("tstamp") double tstamp) {}

    private GenerationTaskRunner() {}

    public static TaskRun run(Task task, EvalModel model, int limit) {
        long start = System.nanoTime();
        TaskSpec spec = task.spec();
        ChatTemplate template = ChatTemplates.named(spec.template());
        List<TaskExample> questions = ExampleReader.read(task);
        int n = limit > 0 ? Math.min(limit, questions.size()) : questions.size();
        TextGenerator generator = new TextGenerator(model.llama(), model.tokenizer(), model.maxLength());
        Set<Integer> eos = model.stopIds();
        List<Answer> answers = new ArrayList<>();
        long newTokens = 0;
        int turnsDone = 0;
        for (int q = 0; q < n; q++) {
            TaskExample.Turns ex = (TaskExample.Turns) questions.get(q);
            List<ChatMessage> conversation = new ArrayList<>();
            List<String> turns = new ArrayList<>();
            for (String turn : ex.turns()) {
                conversation.add(ChatMessage.user(turn));
                String prompt = template.render(conversation, spec.system());
                int[] ids = model.encoder().encodeDefault(prompt);
                Sampling sampling = new Sampling(spec.temperature(), 0, 1.0, spec.seed() + q, spec.maxNewTokens(), eos);
                TextGenerator.Generation g = generator.generate(ids, sampling, spec.stop());
                String answer = g.text().strip();
                turns.add(answer);
                conversation.add(ChatMessage.assistant(answer));
                newTokens += g.tokens().length;
                turnsDone++;
            }
            Map<String, Object> choice = new LinkedHashMap<>();
            choice.put("index", 0);
            choice.put("turns", turns);
            answers.add(new Answer(questionId(ex.questionId()), task.name() + "-" + ex.questionId(), model.name(),
                    List.of(choice), System.currentTimeMillis() / 1000.0));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        List<Metric> metrics = List.of(
                Metric.of("new_tokens_per_turn", turnsDone == 0 ? 0 : (double) newTokens / turnsDone),
                Metric.of("tokens_per_second", seconds > 0 ? newTokens / seconds : 0));
        return new TaskRun(new TaskResult(task.name(), spec.kind(), n, 0, TaskResult.metricMap(metrics), seconds, 0,
                Map.of()), answers);
    }

    private static Object questionId(String id) {
        try {
            return Long.parseLong(id);
        } catch (NumberFormatException e) {
            return id;
        }
    }
}
