package org.llamawb.datasets.mix;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import org.llamawb.datasets.example.Conversation;
import org.llamawb.datasets.example.Example;
import org.llamawb.datasets.example.Message;
import org.llamawb.datasets.example.PreferencePair;
import org.llamawb.datasets.example.Prompt;
import org.llamawb.datasets.example.UnpairedPreference;

/**
 * The first 128 bits of SHA-256 over an example's content: its kind, and each turn's role and exact text
 * (ids, files and line numbers excluded). Equal content gives equal hashes in every run, on every machine
 * and in any file order, so it decides exact duplicates and the train/validation split: a duplicate can
 * never sit on both sides of the split.
 */
public record ContentHash(long high, long low) {

    public static ContentHash of(Example e) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException("SHA-256 is required of every JVM", ex);
        }
        if (e instanceof Conversation c) {
            feed(sha, "conversation", c.messages());
        } else if (e instanceof PreferencePair p) {
            feed(sha, "pair", p.prompt());
            feed(sha, "chosen", List.of(p.chosen()));
            feed(sha, "rejected", List.of(p.rejected()));
        } else if (e instanceof UnpairedPreference u) {
            feed(sha, u.desirable() ? "kto+" : "kto-", u.conversation().messages());
        } else if (e instanceof Prompt p) {
            feed(sha, "prompt", p.messages());
        }
        ByteBuffer d = ByteBuffer.wrap(sha.digest());
        return new ContentHash(d.getLong(), d.getLong());
    }

    private static void feed(MessageDigest sha, String tag, List<Message> messages) {
        sha.update(tag.getBytes(StandardCharsets.UTF_8));
        for (Message m : messages) {
            // Lengths delimit fields, so no text can imitate a boundary.
            byte[] text = m.content().getBytes(StandardCharsets.UTF_8);
            sha.update((byte) m.role().ordinal());
            sha.update(ByteBuffer.allocate(4).putInt(text.length).array());
            sha.update(text);
        }
        sha.update((byte) 0xff);
    }

    /** A number uniform in [0, 1) fixed by the content (the top 53 bits). */
    public double unit() {
        return (high >>> 11) * 0x1.0p-53;
    }

    /** Whether the example belongs to the validation split of size {@code fraction}. */
    public boolean inValidation(double fraction) {
        return unit() < fraction;
    }
}
