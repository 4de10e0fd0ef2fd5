package org.llamawb.eval.task;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Turns examples into text requests as lm-evaluation-harness builds them for its multiple-choice and
 * log-likelihood tasks:
 * <pre>
 *   multiple_choice  context = shots + prompt(example),  continuation = target_delimiter + choice   (per choice)
 *   partial_choice   context = shots + prompt(option),   continuation = target_delimiter + continuation (per option)
 *   completion       context = shots + prompt(example),  continuation = target_delimiter + continuation
 *   shots            = join(shot_1 .. shot_k, fewshot_delimiter) + fewshot_delimiter   ("" when k = 0)
 *   shot_i           = prompt(example_i) + target_delimiter + its gold answer
 * </pre>
 */
public final class RequestBuilder {
    private final TaskSpec spec;
    private final String source;
    private final List<TaskExample> examples;
    private final PromptTemplate prompt;

    /** @param examples every example of the file (shots are drawn from all of them) */
    public RequestBuilder(TaskSpec spec, String source, List<TaskExample> examples) {
        if (!spec.isChoiceKind() && spec.kind() != TaskKind.EXACT_MATCH) {
            throw new IllegalArgumentException(spec.kind() + " tasks make no requests");
        }
        this.spec = spec;
        this.source = source;
        this.examples = examples;
        this.prompt = new PromptTemplate(spec.prompt());
    }

    /** The requests of example {@code i}. */
    public Question question(int i) {
        TaskExample ex = examples.get(i);
        String prefix = fewshot(i);
        String d = spec.targetDelimiter();
        String at = source + ":" + ex.line();
        if (ex instanceof TaskExample.Choice c) {
            String ctx = prefix + prompt.render(c.fields(), at);
            List<Request> reqs = new ArrayList<>();
            for (String choice : c.choices()) {
                reqs.add(new Request(ctx, d + choice));
            }
            return new Question(i, ex.line(), reqs, c.gold(), c.choices());
        }
        if (ex instanceof TaskExample.Partial p) {
            List<Request> reqs = new ArrayList<>();
            for (String option : p.contextOptions()) {
                reqs.add(new Request(prefix + prompt.render(Map.of("context", option), at), d + p.continuation()));
            }
            return new Question(i, ex.line(), reqs, p.gold(), p.contextOptions());
        }
        if (ex instanceof TaskExample.Completion c) {
            return new Question(i, ex.line(),
                    List.of(new Request(prefix + prompt.render(c.fields(), at), d + c.continuation())), -1, List.of());
        }
        if (ex instanceof TaskExample.Answer a) {
            return new Question(i, ex.line(), List.of(new Request(prefix + prompt.render(a.fields(), at), "")), -1, List.of());
        }
        throw new IllegalStateException("generation examples make no requests");
    }

    /** The shots before example {@code i}, with the trailing delimiter, or "" for zero-shot. */
    public String fewshot(int i) {
        int k = spec.shots();
        if (k == 0) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        for (int j : ShotSampler.draw(spec.seed(), i, examples.size(), k)) {
            sb.append(shot(examples.get(j))).append(spec.fewshotDelimiter());
        }
        return sb.toString();
    }

    private String shot(TaskExample ex) {
        String d = spec.targetDelimiter();
        String at = source + ":" + ex.line();
        if (ex instanceof TaskExample.Choice c) {
            return prompt.render(c.fields(), at) + d + c.choices().get(c.gold());
        }
        if (ex instanceof TaskExample.Partial p) {
            return prompt.render(Map.of("context", p.contextOptions().get(p.gold())), at) + d + p.continuation();
        }
        if (ex instanceof TaskExample.Completion c) {
            return prompt.render(c.fields(), at) + d + c.continuation();
        }
        if (ex instanceof TaskExample.Answer a) {
            return prompt.render(a.fields(), at) + d + a.answers().get(0);
        }
        throw new IllegalStateException("generation examples have no shots");
    }
}
