package org.llamawb.datasets.source;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.llamawb.datasets.example.Conversation;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.Origin;
import org.llamawb.datasets.example.PreferencePair;
import org.llamawb.datasets.example.Role;

/**
 * OpenAssistant message trees, in the export's tree form ({@code {message_tree_id, prompt: {...}}}) or as a
 * bare root message ({@code {message_id, parent_id: null, replies: [...]}}). Each message has {@code text},
 * {@code role} ({@code prompter} or {@code assistant}), a sibling {@code rank} (0 is best; null when
 * unranked), {@code deleted}, {@code review_result} and {@code replies}.
 *
 * <p>Usable messages are those not deleted and not rejected in review. A tree becomes
 * <ul>
 *   <li>one conversation along the best-ranked path: from the root, repeatedly the usable reply of lowest
 *       rank (the first usable reply when none is ranked); a trailing prompter message without an answer
 *       is left off so the conversation ends with the assistant;</li>
 *   <li>or preference pairs: for every prompter message, each two ranked usable assistant replies of
 *       different rank give (better, worse) with the path from the root as the prompt.</li>
 * </ul>
 */
final class OasstDecoder {
    private OasstDecoder() {}

    static List<Example> bestPath(JsonNode record, Origin origin) throws BadRecord {
        JsonNode node = root(record);
        List<Message> messages = new ArrayList<>();
        while (node != null) {
            messages.add(message(node));
            node = usableReplies(node).stream()
                    .min(Comparator.comparingInt(OasstDecoder::rankOrMax))
                    .orElse(null);
        }
        if (messages.get(messages.size() - 1).role() == Role.USER) {
            messages.remove(messages.size() - 1);
        }
        if (messages.isEmpty()) {
            throw new BadRecord("missing assistant turn: the tree's prompt has no usable reply");
        }
        ConversationRules.checkConversation(messages);
        return List.of(new Conversation(Fields.id(record, origin.toString()), origin, messages));
    }

    static List<Example> pairs(JsonNode record, Origin origin) throws BadRecord {
        List<Example> out = new ArrayList<>();
        collectPairs(root(record), new ArrayList<>(), Fields.id(record, origin.toString()), origin, out);
        if (out.isEmpty()) {
            throw new BadRecord("no prompter message has two ranked replies to build a preference pair from");
        }
        return out;
    }

    private static void collectPairs(JsonNode node, List<Message> path, String treeId, Origin origin, List<Example> out)
            throws BadRecord {
        Message m = message(node);
        path.add(m);
        List<JsonNode> replies = usableReplies(node);
        if (m.role() == Role.USER) {
            List<JsonNode> ranked = replies.stream()
                    .filter(r -> r.path("rank").isInt())
                    .sorted(Comparator.comparingInt(OasstDecoder::rankOrMax))
                    .toList();
            List<Message> prompt = List.copyOf(path);
            for (int i = 0; i < ranked.size(); i++) {
                for (int j = i + 1; j < ranked.size(); j++) {
                    if (rankOrMax(ranked.get(i)) == rankOrMax(ranked.get(j))) {
                        continue;
                    }
                    Message better = message(ranked.get(i));
                    Message worse = message(ranked.get(j));
                    ConversationRules.checkPrompt(prompt);
                    ConversationRules.checkAnswer(better, "chosen");
                    ConversationRules.checkAnswer(worse, "rejected");
                    String id = treeId + "/" + node.path("message_id").asText() + "/" + rankOrMax(ranked.get(i))
                            + "-" + rankOrMax(ranked.get(j));
                    out.add(new PreferencePair(id, origin, prompt, better, worse));
                }
            }
        }
        for (JsonNode r : replies) {
            collectPairs(r, path, treeId, origin, out);
        }
        path.remove(path.size() - 1);
    }

    private static JsonNode root(JsonNode record) throws BadRecord {
        JsonNode root = record.has("prompt") && record.get("prompt").isObject() ? record.get("prompt") : record;
        if (!root.has("role") || !root.has("text")) {
            throw new BadRecord("not an OpenAssistant tree: expected 'prompt' {role, text, replies} or a root message");
        }
        if (!usable(root)) {
            throw new BadRecord("the tree's root message is deleted or failed review");
        }
        return root;
    }

    private static List<JsonNode> usableReplies(JsonNode node) throws BadRecord {
        JsonNode replies = node.get("replies");
        List<JsonNode> out = new ArrayList<>();
        if (replies == null || replies.isNull()) {
            return out;
        }
        if (!replies.isArray()) {
            throw new BadRecord("'replies' of message " + node.path("message_id").asText() + " must be a list");
        }
        for (JsonNode r : replies) {
            if (usable(r)) {
                out.add(r);
            }
        }
        return out;
    }

    private static boolean usable(JsonNode m) {
        return !m.path("deleted").asBoolean(false) && m.path("review_result").asBoolean(true);
    }

    private static int rankOrMax(JsonNode m) {
        return m.path("rank").isInt() ? m.get("rank").asInt() : Integer.MAX_VALUE;
    }

    private static Message message(JsonNode node) throws BadRecord {
        String where = "message " + node.path("message_id").asText("?") + ": ";
        String role = node.path("role").asText();
        String text = node.path("text").isTextual() ? node.get("text").asText() : null;
        if (text == null) {
            throw new BadRecord(where + "missing key 'text'");
        }
        return switch (role) {
            case "prompter" -> Message.user(text);
            case "assistant" -> Message.assistant(text);
            default -> throw new BadRecord(where + "unknown role '" + role + "' (expected prompter or assistant)");
        };
    }
}
