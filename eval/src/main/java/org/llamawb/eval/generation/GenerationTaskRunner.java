package org.llamawb.eval.generation;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.template.TemplateException;
import org.llamawb.datasets.tokenize.EncodeOptions;
import org.llamawb.datasets.tokenize.ExampleEncoder;
import org.llamawb.eval.EvalModel;
import org.llamawb.eval.metrics.Metric;
import org.llamawb.eval.report.ShardRun;
import org.llamawb.eval.report.TaskResult;
import org.llamawb.eval.report.TaskRun;
import org.llamawb.eval.task.ExampleReader;
import org.llamawb.eval.task.Shard;
import org.llamawb.eval.task.Task;
import org.llamawb.eval.task.TaskExample;
import org.llamawb.eval.task.TaskSpec;
import org.llamawb.model.BadInputException;
import org.llamawb.model.generate.Sampling;
import org.llamawb.model.progress.Progress;

/**
 * Answers MT-bench / Vicuna-bench questions turn by turn: each turn is appended to the conversation, the
 * conversation is rendered with the chat template (the datasets module's, with its generation prompt) and the
 * model's answer becomes the next assistant turn.
 * The records are FastChat's model-answer JSONL ({@code question_id, answer_id, model_id,
 * choices: [{index, turns}], tstamp}), ready for its LLM judge.
 */
public final class GenerationTaskRunner {

    /** One line of FastChat's answer file. */
    public record Answer(@JsonProperty("question_id") Object questionId, @JsonProperty("answer_id") String answerId,
            @JsonProperty("model_id") String modelId, @JsonProperty("choices") List<Map<String, Object>> choices,
            @JsonProperty("tstamp") double tstamp) implements Serializable {}

    private GenerationTaskRunner() {}

    public static TaskRun run(Task task, EvalModel model, int limit) {
        long start = System.nanoTime();
        ShardRun all = score(task, model, limit, Shard.ALL);
        return merge(task, List.of(all), (System.nanoTime() - start) / 1e9);
    }

    /** Answers the questions of {@code shard}'s range of the first {@code limit}, turn by turn. */
    public static ShardRun score(Task task, EvalModel model, int limit, Shard shard) {
        TaskSpec spec = task.spec();
        List<TaskExample> questions = ExampleReader.read(task);
        int n = limit > 0 ? Math.min(limit, questions.size()) : questions.size();
        TextGenerator generator = new TextGenerator(model.llama(), model.tokenizer(), model.maxLength());
        List<Answer> answers = new ArrayList<>();
        long newTokens = 0;
        try (ExampleEncoder chat = new ExampleEncoder(model.tokenizer(), model.chatTemplate(spec.template()),
                EncodeOptions.of(Integer.MAX_VALUE));
                Progress progress = Progress.start(task.name(), shard.to(n) - shard.from(n), "examples")) {
            for (int q = shard.from(n); q < shard.to(n); q++) {
                TaskExample.Turns ex = (TaskExample.Turns) questions.get(q);
                List<Message> conversation = new ArrayList<>();
                if (spec.system() != null) {
                    conversation.add(Message.system(spec.system()));
                }
                List<String> turns = new ArrayList<>();
                for (String turn : ex.turns()) {
                    conversation.add(Message.user(turn));
                    // seeded by the question's index, so a shard samples what the whole task in one process does
                    Sampling sampling = new Sampling(spec.temperature(), 0, 1.0, spec.seed() + q, spec.maxNewTokens(),
                            model.stopIds());
                    TextGenerator.Generation g = generator.generate(prompt(chat, conversation, task, ex), sampling, spec.stop());
                    String answer = g.text().strip();
                    turns.add(answer);
                    conversation.add(Message.assistant(answer));
                    newTokens += g.tokens().length;
                }
                Map<String, Object> choice = new LinkedHashMap<>();
                choice.put("index", 0);
                choice.put("turns", turns);
                answers.add(new Answer(questionId(ex.questionId()), task.name() + "-" + ex.questionId(), model.name(),
                        List.of(choice), System.currentTimeMillis() / 1000.0));
                progress.advance(1);
            }
        }
        return new ShardRun(answers, shard.to(n) - shard.from(n), 0, newTokens);
    }

    /** new_tokens_per_turn over the shards' answers; tokens_per_second over the task's wall time. */
    public static TaskRun merge(Task task, List<ShardRun> shards, double seconds) {
        List<Answer> answers = ShardRun.records(shards, Answer.class);
        long newTokens = ShardRun.generatedTokens(shards);
        int turnsDone = 0;
        for (Answer a : answers) {
            turnsDone += ((List<?>) a.choices().get(0).get("turns")).size();
        }
        List<Metric> metrics = List.of(
                Metric.of("new_tokens_per_turn", turnsDone == 0 ? 0 : (double) newTokens / turnsDone),
                Metric.of("tokens_per_second", seconds > 0 ? newTokens / seconds : 0));
        return new TaskRun(new TaskResult(task.name(), task.spec().kind(), answers.size(), 0, TaskResult.metricMap(metrics),
                seconds, 0, Map.of()), answers);
    }

    /** The token ids of the conversation so far plus the template's generation prompt. */
    private static int[] prompt(ExampleEncoder chat, List<Message> conversation, Task task, TaskExample.Turns ex) {
        try {
            return chat.promptIds(conversation);
        } catch (TemplateException e) {
            throw new BadInputException(task.data() + ":" + ex.line() + ": chat template " + task.spec().template() + ": "
                    + e.getMessage());
        }
    }

    private static Object questionId(String id) {
        try {
            return Long.parseLong(id);
        } catch (NumberFormatException e) {
            return id;
        }
    }
}
