package org.llamawb.datasets.tokenize;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.llamawb.datasets.example.Conversation;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.PreferencePair;
import org.llamawb.datasets.example.Prompt;
import org.llamawb.datasets.example.Role;
import org.llamawb.datasets.example.UnpairedPreference;
import org.llamawb.datasets.template.CharSpan;
import org.llamawb.datasets.template.ChatTemplate;
import org.llamawb.datasets.template.RenderedChat;
import org.llamawb.datasets.template.TemplateException;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * Turns conversations and preference pairs into token ids and labels with a chat template.
 *
 * <ul>
 *   <li><b>Labels.</b> A token is trained when any character it covers lies in a span the template marks
 *       as trained: the assistant answers and the marker that ends each one ({@code </s>},
 *       {@code <|eot_id|>}, ...), so the model learns to stop. System and user tokens, role headers
 *       and the BOS get {@link TokenizedExample#IGNORE}.</li>
 *   <li><b>BOS.</b> Added once, unless the rendered text already starts with the tokenizer's BOS
 *       string (Llama-2 and Llama-3 templates write it): never two.</li>
 *   <li><b>Length.</b> {@link EncodeOptions}: longer than {@code max_length} is truncated or dropped
 *       ({@link Truncation}), shorter than {@code min_length} dropped; every case is counted in
 *       {@link #stats()}.</li>
 * </ul>
 * Not thread-safe (one encoder per thread).
 */
public final class ExampleEncoder implements AutoCloseable {
    private final LlamaTokenizer tokenizer;
    private final ChatTemplate template;
    private final EncodeOptions options;
    private final OffsetEncoder offsets;
    private final String bosText;
    private final EncodeStats stats = new EncodeStats();

    public ExampleEncoder(LlamaTokenizer tokenizer, ChatTemplate template, EncodeOptions options) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.template = Objects.requireNonNull(template, "template");
        this.options = Objects.requireNonNull(options, "options");
        this.offsets = new OffsetEncoder(tokenizer);
        this.bosText = tokenizer.bosId() >= 0 ? tokenizer.piece(tokenizer.bosId()) : null;
    }

    public ChatTemplate template() {
        return template;
    }

    public EncodeOptions options() {
        return options;
    }

    /** What has been encoded and dropped so far. */
    public EncodeStats stats() {
        return stats;
    }

    /**
     * Renders and tokenises {@code messages} (ending with an assistant turn) without truncation.
     *
     * @throws TemplateException when the template rejects the messages
     */
    public EncodedChat render(List<Message> messages) {
        return tokens(template.render(messages, false));
    }

    /** The token ids of a prompt followed by the template's generation prompt (for generation). */
    public int[] promptIds(List<Message> messages) {
        EncodedChat c = tokens(template.render(messages, true));
        return c.tokens().ids();
    }

    /** Tokenises a rendered chat: BOS when the text lacks it, labels from the trained spans. */
    public EncodedChat tokens(RenderedChat chat) {
        TokenSpans raw = offsets.encode(chat.text());
        int[] labels = labels(raw, chat.trained());
        boolean addBos = bosText != null && !chat.text().startsWith(bosText);
        if (!addBos) {
            return new EncodedChat(chat, raw, labels, false);
        }
        int[] withBos = new int[labels.length + 1];
        withBos[0] = TokenizedExample.IGNORE;
        System.arraycopy(labels, 0, withBos, 1, labels.length);
        return new EncodedChat(chat, withBos(raw, tokenizer.bosId()), withBos, true);
    }

    /**
     * Labels for tokens given trained character spans: a token is trained when it covers a trained
     * character (a zero-width token when its position is inside a span).
     */
    static int[] labels(TokenSpans t, List<CharSpan> trained) {
        int[] labels = new int[t.size()];
        Arrays.fill(labels, TokenizedExample.IGNORE);
        int s = 0;
        for (int i = 0; i < t.size(); i++) {
            int start = t.starts()[i];
            int end = Math.max(t.ends()[i], start + 1);
            while (s < trained.size() && trained.get(s).end() <= start) {
                s++;
            }
            if (s < trained.size() && trained.get(s).start() < end) {
                labels[i] = t.ids()[i];
            }
        }
        return labels;
    }

    private static TokenSpans withBos(TokenSpans raw, int bosId) {
        int n = raw.size() + 1;
        int[] ids = new int[n];
        int[] starts = new int[n];
        int[] ends = new int[n];
        ids[0] = bosId;
        System.arraycopy(raw.ids(), 0, ids, 1, raw.size());
        System.arraycopy(raw.starts(), 0, starts, 1, raw.size());
        System.arraycopy(raw.ends(), 0, ends, 1, raw.size());
        return new TokenSpans(ids, starts, ends);
    }

    /**
     * Encodes a supervised example: a conversation, or the conversation of a KTO example. Other kinds
     * are dropped as not trainable.
     */
    public Optional<TokenizedExample> encode(Example e) {
        if (e instanceof Conversation c) {
            return encode(c);
        }
        if (e instanceof UnpairedPreference u) {
            return encode(u.conversation());
        }
        return notTrainable(e, e instanceof PreferencePair ? "a preference pair" : "a prompt without an answer");
    }

    private Optional<TokenizedExample> notTrainable(Example e, String what) {
        stats.offered();
        stats.dropped(DropReason.NOT_TRAINABLE, e.origin(), what);
        return Optional.empty();
    }

    /** Encodes a conversation with truncation and the length filter applied; empty when dropped. */
    public Optional<TokenizedExample> encode(Conversation c) {
        stats.offered();
        EncodedChat full;
        try {
            full = render(c.messages());
        } catch (TemplateException ex) {
            stats.dropped(DropReason.TEMPLATE_ERROR, c.origin(), ex.getMessage());
            return Optional.empty();
        }
        int n = full.length();
        int[] ids = full.tokens().ids();
        int[] labels = full.labels();
        boolean truncated = false;
        if (n > options.maxLength()) {
            if (options.truncation() == Truncation.DROP) {
                stats.dropped(DropReason.LONGER_THAN_MAX_LENGTH, c.origin(), n + " tokens > " + options.maxLength());
                return Optional.empty();
            }
            ids = Arrays.copyOf(ids, options.maxLength());
            labels = Arrays.copyOf(labels, options.maxLength());
            truncated = true;
        }
        if (ids.length < options.minLength()) {
            stats.dropped(DropReason.SHORTER_THAN_MIN_LENGTH, c.origin(), ids.length + " tokens < " + options.minLength());
            return Optional.empty();
        }
        TokenizedExample out = new TokenizedExample(c.id(), c.origin(), ids, labels, truncated);
        int trained = out.trainedTokens();
        if (trained == 0) {
            stats.dropped(DropReason.NOTHING_TRAINED, c.origin(), truncated ? "truncated to " + options.maxLength() : "");
            return Optional.empty();
        }
        stats.kept(out.length(), trained, truncated);
        return Optional.of(out);
    }

    /**
     * Encodes the prompt of an example for generation: a prompt record as it is, a conversation up to its last
     * assistant answer, a preference pair's or KTO example's shared context. The prompt must end with a user turn;
     * longer than {@code max_length} is dropped (never truncated: a cut prompt asks another question).
     */
    public Optional<TokenizedPrompt> encodePrompt(Example e) {
        stats.offered();
        List<Message> messages;
        if (e instanceof Prompt p) {
            messages = p.messages();
        } else if (e instanceof Conversation c) {
            messages = beforeLastAnswer(c.messages());
        } else if (e instanceof PreferencePair p) {
            messages = p.prompt();
        } else {
            messages = beforeLastAnswer(((UnpairedPreference) e).conversation().messages());
        }
        if (messages.isEmpty() || messages.get(messages.size() - 1).role() != Role.USER) {
            stats.dropped(DropReason.NOT_TRAINABLE, e.origin(), "no user turn to answer");
            return Optional.empty();
        }
        int[] ids;
        try {
            ids = promptIds(messages);
        } catch (TemplateException ex) {
            stats.dropped(DropReason.TEMPLATE_ERROR, e.origin(), ex.getMessage());
            return Optional.empty();
        }
        if (ids.length > options.maxLength()) {
            stats.dropped(DropReason.LONGER_THAN_MAX_LENGTH, e.origin(), ids.length + " tokens > " + options.maxLength());
            return Optional.empty();
        }
        if (ids.length < options.minLength()) {
            stats.dropped(DropReason.SHORTER_THAN_MIN_LENGTH, e.origin(), ids.length + " tokens < " + options.minLength());
            return Optional.empty();
        }
        stats.kept(ids.length, 0, false);
        return Optional.of(new TokenizedPrompt(e.id(), e.origin(), ids));
    }

    private static List<Message> beforeLastAnswer(List<Message> messages) {
        int end = messages.size();
        while (end > 0 && messages.get(end - 1).role() == Role.ASSISTANT) {
            end--;
        }
        return messages.subList(0, end);
    }

    /**
     * Encodes a preference pair as a shared prompt and two answers. The prompt is what precedes the
     * first token of the final answer; it must tokenise identically before both answers.
     */
    public Optional<TokenizedPair> encode(PreferencePair p) {
        stats.offered();
        EncodedChat chosen;
        EncodedChat rejected;
        try {
            chosen = render(p.chosenConversation());
            rejected = render(p.rejectedConversation());
        } catch (TemplateException ex) {
            stats.dropped(DropReason.TEMPLATE_ERROR, p.origin(), ex.getMessage());
            return Optional.empty();
        }
        int cb = answerStart(chosen);
        int rb = answerStart(rejected);
        int[] prompt = Arrays.copyOf(chosen.tokens().ids(), cb);
        if (cb != rb || !Arrays.equals(prompt, Arrays.copyOf(rejected.tokens().ids(), rb))) {
            stats.dropped(DropReason.PROMPTS_DIFFER, p.origin(), "");
            return Optional.empty();
        }
        int[] c = answer(chosen, cb);
        int[] r = answer(rejected, rb);
        boolean truncated = false;
        int longest = prompt.length + Math.max(c.length, r.length);
        if (longest > options.maxLength()) {
            if (options.truncation() == Truncation.DROP) {
                stats.dropped(DropReason.LONGER_THAN_MAX_LENGTH, p.origin(), longest + " tokens > " + options.maxLength());
                return Optional.empty();
            }
            int room = options.maxLength() - prompt.length;
            if (room < 1) {
                stats.dropped(DropReason.NOTHING_TRAINED, p.origin(), "prompt of " + prompt.length + " tokens fills max_length");
                return Optional.empty();
            }
            c = Arrays.copyOf(c, Math.min(c.length, room));
            r = Arrays.copyOf(r, Math.min(r.length, room));
            truncated = true;
        }
        if (prompt.length + Math.min(c.length, r.length) < options.minLength()) {
            stats.dropped(DropReason.SHORTER_THAN_MIN_LENGTH, p.origin(), "");
            return Optional.empty();
        }
        stats.keptPair(prompt.length, c.length, r.length, truncated);
        return Optional.of(new TokenizedPair(p.id(), p.origin(), prompt, c, r, truncated));
    }

    /** The index of the first token of the final answer (the last trained span). */
    private static int answerStart(EncodedChat e) {
        List<CharSpan> spans = e.chat().trained();
        if (spans.isEmpty()) {
            return e.length();
        }
        int from = spans.get(spans.size() - 1).start();
        for (int i = 0; i < e.length(); i++) {
            if (e.labels()[i] != TokenizedExample.IGNORE && Math.max(e.tokens().ends()[i], e.tokens().starts()[i] + 1) > from) {
                return i;
            }
        }
        return e.length();
    }

    /** The answer's tokens from {@code start} to its last trained token (trailing untrained text dropped). */
    private static int[] answer(EncodedChat e, int start) {
        int end = e.length();
        while (end > start && e.labels()[end - 1] == TokenizedExample.IGNORE) {
            end--;
        }
        return Arrays.copyOfRange(e.tokens().ids(), start, Math.max(end, Math.min(start + 1, e.length())));
    }

    @Override
    public void close() {
        offsets.close();
    }
}
