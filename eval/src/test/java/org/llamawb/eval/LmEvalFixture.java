package org.llamawb.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.llamawb.eval.score.EncodedRequest;

/** The committed lm-evaluation-harness reference numbers (fixtures/lmeval/stories260K.json, see its README). */
public final class LmEvalFixture {
    private static JsonNode root;

    private LmEvalFixture() {}

    public static synchronized JsonNode root() {
        if (root == null) {
            try (InputStream in = LmEvalFixture.class.getResourceAsStream("/fixtures/lmeval/stories260K.json")) {
                root = new ObjectMapper().readTree(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return root;
    }

    /** One scored request of the fixture. */
    public record Request(String context, String continuation, int[] contextIds, int[] continuationIds,
            double loglikelihood, boolean greedy) {
        public EncodedRequest encoded() {
            return new EncodedRequest(contextIds, continuationIds);
        }
    }

    public static Request request(JsonNode r) {
        return new Request(r.path("context").asText(), r.path("continuation").asText(), ints(r.path("context_ids")),
                ints(r.path("continuation_ids")), r.path("loglikelihood").asDouble(), r.path("greedy").asBoolean());
    }

    /** Every request of every task case, then the edge cases. */
    public static List<Request> allRequests() {
        List<Request> out = new ArrayList<>();
        for (JsonNode task : root().path("tasks")) {
            for (JsonNode ex : task.path("examples")) {
                for (JsonNode r : ex.path("requests")) {
                    out.add(request(r));
                }
            }
        }
        for (JsonNode r : root().path("edge_requests")) {
            out.add(request(r));
        }
        return out;
    }

    public static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }
}
