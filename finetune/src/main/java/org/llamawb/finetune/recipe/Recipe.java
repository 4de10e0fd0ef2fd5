package org.llamawb.finetune.recipe;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Locale;
import org.llamawb.datasets.mix.DataOptions;
import org.llamawb.model.BadInputException;

/**
 * A training recipe: which method, on which model, with which adapter, data, schedule, evaluation,
 * tracking and output. Every section validates itself; absent sections take their defaults.
 *
 * @param method {@code sft}, {@code dpo}, {@code kto} or {@code reward} ({@link Method})
 * @param dpo the DPO settings; only with {@code method: dpo} (absent: TRL's defaults)
 * @param kto the KTO settings; only with {@code method: kto} (absent: TRL's defaults)
 */
public record Recipe(
        String method,
        ModelSection model,
        AdapterSection adapter,
        DataOptions data,
        TrainSection train,
        EvalSection eval,
        TrackingSection tracking,
        OutputSection output,
        @JsonInclude(JsonInclude.Include.NON_NULL) DpoSection dpo,
        @JsonInclude(JsonInclude.Include.NON_NULL) KtoSection kto) {

    public Recipe {
        method = method == null ? "sft" : method.toLowerCase(Locale.ROOT);
        Method kind = Method.parse(method);
        if (model == null) {
            throw new BadInputException("missing required section 'model' (model.path names the checkpoint)");
        }
        if (data == null) {
            throw new BadInputException("missing required section 'data' (data.sources lists the training files)");
        }
        adapter = adapter == null ? AdapterSection.NONE : adapter;
        train = train == null ? TrainSection.defaults() : train;
        eval = eval == null ? EvalSection.defaults() : eval;
        tracking = tracking == null ? TrackingSection.defaults() : tracking;
        output = output == null ? OutputSection.defaults() : output;
        if (kind != Method.DPO && dpo != null) {
            throw new BadInputException("dpo: settings given but method is " + method + " (set method: dpo)");
        }
        if (kind != Method.KTO && kto != null) {
            throw new BadInputException("kto: settings given but method is " + method + " (set method: kto)");
        }
        dpo = kind == Method.DPO && dpo == null ? DpoSection.defaults() : dpo;
        kto = kind == Method.KTO && kto == null ? KtoSection.defaults() : kto;
        if (model.quantization() != null && !adapter.isLora()) {
            throw new BadInputException("model.quantize: " + model.quantize() + " keeps the base frozen and quantised; "
                    + "train an adapter (adapter.type: lora) or set model.quantize: none");
        }
        if (kind != Method.SFT) {
            if (!adapter.isLora()) {
                throw new BadInputException("method: " + method + " needs adapter.type: lora " + (kind == Method.REWARD
                        ? "(a reward model is saved as a PEFT SEQ_CLS adapter with its score head)"
                        : "(the reference model is the base with the adapter disabled, so no second copy is held)"));
            }
            if (train.policy() != org.llamawb.finetune.remat.Rematerialization.NONE) {
                throw new BadInputException("train.rematerialization: method " + method + " runs with none in this version "
                        + "(got " + train.rematerialization() + ")");
            }
        }
    }

    /** The method as a closed set. */
    public Method methodKind() {
        return Method.parse(method);
    }
}
