package org.llamawb.datasets.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The example records hold their invariants. */
class ExampleRecordsTest {
    private static final Origin AT = new Origin("f.jsonl", 3);

    @Test
    void originPrintsAsFileColonLine() {
        assertEquals("f.jsonl:3", AT.toString());
        assertThrows(IllegalArgumentException.class, () -> new Origin("f", 0));
    }

    @Test
    void preferencePairConversationsShareThePrompt() {
        PreferencePair p = new PreferencePair("p", AT, List.of(Message.user("q")), Message.assistant("good"),
                Message.assistant("bad"));
        assertEquals(List.of(Message.user("q"), Message.assistant("good")), p.chosenConversation());
        assertEquals(List.of(Message.user("q"), Message.assistant("bad")), p.rejectedConversation());
        assertThrows(IllegalArgumentException.class, () -> new PreferencePair("p", AT, List.of(Message.user("q")),
                Message.user("not an answer"), Message.assistant("bad")));
    }

    @Test
    void aConversationNeedsMessagesAndKtoExamplesReportTheirConversationsOrigin() {
        assertThrows(IllegalArgumentException.class, () -> new Conversation("c", AT, List.of()));
        Conversation c = new Conversation("c", AT, List.of(Message.user("q"), Message.assistant("a")));
        UnpairedPreference u = new UnpairedPreference(c, false);
        assertEquals("c", u.id());
        assertEquals(AT, u.origin());
    }
}
