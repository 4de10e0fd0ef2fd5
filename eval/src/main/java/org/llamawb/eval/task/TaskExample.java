package org.llamawb.eval.task;

import java.util.List;
import java.util.Map;

/** One example of a task's data file; {@code line} is its 1-based line in the file, for messages. */
public sealed interface TaskExample {

    int line();

    /** {query, choices[], gold}; {@code fields} holds every string field (for the prompt template). */
    record Choice(int line, Map<String, String> fields, List<String> choices, int gold) implements TaskExample {
        public Choice {
            fields = Map.copyOf(fields);
            choices = List.copyOf(choices);
        }
    }

    /** {context_options[], continuation, gold}: WinoGrande's partial scoring. */
    record Partial(int line, List<String> contextOptions, String continuation, int gold) implements TaskExample {
        public Partial {
            contextOptions = List.copyOf(contextOptions);
        }
    }

    /** {context, continuation}: LAMBADA. */
    record Completion(int line, Map<String, String> fields, String continuation) implements TaskExample {
        public Completion {
            fields = Map.copyOf(fields);
        }
    }

    /** {query, answer | answers[]}: an exact-match question; {@code answers} are all accepted. */
    record Answer(int line, Map<String, String> fields, List<String> answers) implements TaskExample {
        public Answer {
            fields = Map.copyOf(fields);
            answers = List.copyOf(answers);
        }
    }

    /** {question_id, category, turns[]}: an MT-bench or Vicuna-bench question. */
    record Turns(int line, String questionId, String category, List<String> turns) implements TaskExample {
        public Turns {
            turns = List.copyOf(turns);
        }
    }
}
