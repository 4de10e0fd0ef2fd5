package org.llamawb.adapters;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.llamawb.model.Linear;
import org.llamawb.model.LinearAdapter;

/**
 * The adapters of one projection: {@code y = W·x + Σ_active scaling · B·(A·dropout(x))}, evaluated in
 * PEFT's order ({@code lora_B(lora_A(dropout(x))) * scaling} added to the base output); a DoRA adapter
 * rescales each output row of {@code W + scaling·B·A} to its trained magnitude (see {@link #dora}).
 * The frozen weight keeps its name and is never modified except by an explicit merge.
 */
public final class LoraLinear implements LinearAdapter {
    private final LoraModel owner;
    private final Linear base;
    final Map<String, LoraWeights> adapters = new LinkedHashMap<>();

    LoraLinear(LoraModel owner, Linear base) {
        this.owner = owner;
        this.base = base;
    }

    @Override
    public NDArray forward(Linear layer, NDArray x, NDArray out) {
        if (owner.isDisabled()) {
            return out;
        }
        for (Map.Entry<String, LoraWeights> e : adapters.entrySet()) {
            if (!owner.isActive(e.getKey()) || owner.isMerged(e.getKey())) {
                continue;
            }
            LoraWeights w = e.getValue();
            NDArray in = x;
            boolean dropped = w.dropout() > 0 && owner.isTraining();
            if (dropped) {
                in = in.getNDArrayInternal().dropout(in, (float) w.dropout(), true).singletonOrThrow();
            }
            NDArray h = ai.djl.nn.core.Linear.linear(in, w.a()).singletonOrThrow(); // [..., r]
            NDArray delta = ai.djl.nn.core.Linear.linear(h, w.b()).singletonOrThrow(); // [..., out]
            out = w.isDora() ? out.add(dora(layer, w, in, dropped, out, delta)) : out.add(delta.mul(w.scaling()));
        }
        return out;
    }

    /**
     * DoRA's addition to the output, as PEFT computes it: with {@code k = m / ‖W + s·B·A‖} per output row (the
     * norm detached), {@code (k - 1)·W·x' + k·s·B·A·x'}, so that base plus addition is {@code k·(W + s·B·A)·x'}.
     * Without dropout {@code W·x'} is the output so far less the bias (PEFT's {@code base_result}, which holds any
     * adapter applied before this one); with dropout it is recomputed from the dropped input {@code x'}.
     */
    private NDArray dora(Linear layer, LoraWeights w, NDArray in, boolean dropped, NDArray out, NDArray delta) {
        NDArray k = w.magnitude().div(w.weightNorm(layer.weight())); // [out], broadcast over [..., out]
        NDArray baseResult;
        if (dropped) {
            baseResult = ai.djl.nn.core.Linear.linear(in, layer.weight()).singletonOrThrow(); // [..., out]
        } else {
            baseResult = layer.bias() == null ? out : out.sub(layer.bias());
        }
        return k.sub(owner.one()).mul(baseResult).add(k.mul(delta).mul(w.scaling()));
    }

    /** The factors applied in a forward pass now (active, not merged, adapters enabled). */
    public List<LoraWeights> applied() {
        List<LoraWeights> out = new ArrayList<>();
        if (owner.isDisabled()) {
            return out;
        }
        adapters.forEach((name, w) -> {
            if (owner.isActive(name) && !owner.isMerged(name)) {
                out.add(w);
            }
        });
        return out;
    }

    /** Whether adapter dropout is applied in the current mode (training with a non-zero probability). */
    public boolean dropoutActive() {
        return owner.isTraining() && applied().stream().anyMatch(w -> w.dropout() > 0);
    }

    public Linear base() {
        return base;
    }

    /** This projection's factors for adapter {@code name}, or null. */
    public LoraWeights weights(String name) {
        return adapters.get(name);
    }
}
