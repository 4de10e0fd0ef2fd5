package org.llamawb.eval.score;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import org.llamawb.model.DecoderLayer;
import org.llamawb.model.ForwardContext;
import org.llamawb.model.Llama;

/**
 * One forward pass over a batch of rows, returning {@code log p(target | slot)} and the argmax at chosen
 * slots only: the LM head and softmax run on those positions, not on the whole {@code [B, T, V]}.
 */
public final class TokenLogprobs {

    /**
     * @param logprobs {@code log softmax(logits[slot])[target]} per requested slot
     * @param argmax the most likely token at each requested slot
     */
    public record Result(float[] logprobs, long[] argmax) {}

    private TokenLogprobs() {}

    /**
     * @param tokens {@code [rows, width]} ids, row-major
     * @param positions {@code [rows, width]} positions, or null for 0..width-1 in every row
     * @param mask {@code [rows, 1, width, width]} boolean attention mask, or null for plain causal attention
     * @param slots flat indices {@code row * width + t} whose logits are read
     * @param targets the token scored at each slot
     */
    public static Result compute(Llama model, NDManager m, long[] tokens, int rows, int width, long[] positions,
            NDArray mask, long[] slots, long[] targets) {
        try (NDScope scope = new NDScope()) {
            NDArray ids = m.create(tokens, new Shape(rows, width));
            ForwardContext ctx = mask == null
                    ? new ForwardContext(model.rope().tables(null, 0, width), null, true, false, null)
                    : new ForwardContext(model.rope().tables(m.create(positions, new Shape(rows, width)), 0, width),
                            mask, false, false, null);
            NDArray x = model.embed(ids); // [B, T, d]
            for (DecoderLayer layer : model.layers()) {
                x = layer.forward(x, ctx);
            }
            long d = x.getShape().get(2);
            NDArray h = model.norm().forward(x).reshape((long) rows * width, d); // [B*T, d]
            NDArray picked = h.get(new NDIndex("{}", m.create(slots))); // [N, d]
            NDArray logits = model.logits(picked); // [N, V]
            NDArray logp = logits.logSoftmax(-1);
            float[] lp = logp.gather(m.create(targets, new Shape(targets.length, 1)), 1).toFloatArray(); // [N, 1]
            long[] am = logits.argMax(1).toLongArray(); // [N]
            return new Result(lp, am);
        }
    }
}
