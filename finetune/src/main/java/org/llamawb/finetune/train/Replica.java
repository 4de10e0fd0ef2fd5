package org.llamawb.finetune.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.llamawb.adapters.LoraModel;
import org.llamawb.datasets.template.ChatTemplate;
import org.llamawb.finetune.recipe.Recipe;
import org.llamawb.finetune.sft.DataSetup;
import org.llamawb.model.CpuFeatures;
import org.llamawb.model.Llama;

/**
 * What a recipe sets up before its first step, in one process: the base model, the adapter (or every parameter)
 * to train, the method with its data read and encoded, and the trainable tensors by name. The {@link Trainer}
 * trains one; a data-parallel worker keeps one per recipe across steps (the frozen base loaded once) and
 * computes its share of each step's gradients with it.
 */
public final class Replica implements AutoCloseable {
    /**
     * {@code -Dworkbench.fusedProjections=true} stacks the frozen q/k/v and gate/up of adapter training into one GEMM
     * each. Off by default: with it, a pass with the adapter active and one with it disabled (DPO's policy and
     * reference, GRPO/PPO's policy and reference) no longer give the same bits when the adapter's delta is zero, because
     * the slices of the stacked output reach attention as strided views in one and as fresh tensors in the other; DPO's
     * rewards at step 0 are then rounding noise instead of exactly 0 (LearningCanBeCheckedTest), and the measured gain
     * was small (bench/BENCHMARKS.md, "Fused projections").
     */
    private static final boolean FUSED_PROJECTIONS =
            Boolean.parseBoolean(System.getProperty("workbench.fusedProjections", "false"));
    private final NDManager manager;
    private final BaseModel base;
    private final LoraModel lora;
    private final MethodContext ctx;
    private final TrainingMethod<?> method;
    private final Map<String, NDArray> params;

    private Replica(NDManager manager, BaseModel base, LoraModel lora, MethodContext ctx, TrainingMethod<?> method,
            Map<String, NDArray> params) {
        this.manager = manager;
        this.base = base;
        this.lora = lora;
        this.ctx = ctx;
        this.method = method;
        this.params = params;
    }

    /**
     * Opens the recipe's base model and builds its adapter and method.
     *
     * @param resumeFrom a checkpoint whose adapter (or trainable tensors) and method state to start from
     * @param out report lines (data report, adapter notes)
     */
    public static Replica open(Recipe r, Optional<Path> resumeFrom, PrintStream out) {
        NDManager m = NDManager.newBaseManager();
        BaseModel base = null;
        LoraModel lora = null;
        try {
            base = BaseModel.open(r.model(), r.train().seed(), m);
            Llama model = base.model();
            // the one place a run's GEMM precision is decided: the recipe's, unless this CPU cannot compute it fast
            model.setComputePrecision(r.train().computePrecision().resolve(CpuFeatures.probe(),
                    n -> out.println("note: train.precision: " + n)));
            ChatTemplate template = DataSetup.template(r.data(), base.tokenizer(), base.location());
            lora = r.adapter().isLora() ? new LoraModel(model) : null;
            MethodContext ctx = new MethodContext(r, model, base.tokenizer(), template, lora, r.adapter().name(), out,
                    Trainer.endTokens(base, template));
            TrainingMethod<?> method = Trainer.method(ctx);
            Map<String, NDArray> params = Trainer.trainable(r, base, template, lora, resumeFrom, out, method.heads());
            resumeFrom.ifPresent(method::restoreState);
            method.companions().forEach((k, w) -> {
                w.setRequiresGradient(true);
                params.put(k, w);
            });
            if (lora != null && FUSED_PROJECTIONS && r.model().quantize().equals("none")
                    && r.model().dtype().equals("float32")) {
                // the trained tensors are known now: the frozen q/k/v and gate/up run as one GEMM each (bench/BENCHMARKS.md,
                // "Fused projections"); a group with a trained tensor stays separate. Not for a compact base: its parts
                // would be widened and then copied into a stack on every use, and that memory was not measured
                model.fuseFrozenProjections(true);
            }
            return new Replica(m, base, lora, ctx, method, params);
        } catch (RuntimeException | Error e) {
            close(lora, base, m);
            throw e;
        }
    }

    /** The method, with its loss and its resumable order of micro-batches. */
    public TrainingMethod<?> method() {
        return method;
    }

    /** The trainable tensors by the names they are saved under, in a fixed order (the optimiser's). */
    public Map<String, NDArray> params() {
        return params;
    }

    BaseModel base() {
        return base;
    }

    MethodContext context() {
        return ctx;
    }

    NDManager manager() {
        return manager;
    }

    @Override
    public void close() {
        close(lora, base, manager);
    }

    private static void close(LoraModel lora, BaseModel base, NDManager m) {
        try {
            if (lora != null) {
                lora.close();
            }
        } finally {
            try {
                if (base != null) {
                    base.close();
                }
            } finally {
                m.close();
            }
        }
    }
}
