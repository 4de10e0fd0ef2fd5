package org.llamawb.finetune.recipe;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Locale;
import org.llamawb.datasets.mix.DataOptions;
import org.llamawb.finetune.rl.RuleRewardSpec;
import org.llamawb.finetune.rl.RuleRewards;
import org.llamawb.model.BadInputException;

/**
 * A training recipe: which method, on which model, with which adapter, data, schedule, evaluation,
 * tracking and output. Every section validates itself; absent sections take their defaults.
 *
 * @param method {@code sft}, {@code dpo}, {@code kto}, {@code reward}, {@code grpo} or {@code ppo} ({@link Method})
 * @param dpo the DPO settings; only with {@code method: dpo} (absent: TRL's defaults)
 * @param kto the KTO settings; only with {@code method: kto} (absent: TRL's defaults)
 * @param grpo the GRPO settings; only with {@code method: grpo} (absent: TRL's defaults)
 * @param ppo the PPO settings; only with {@code method: ppo} (absent: TRL's defaults); with {@code dpo}, {@code grpo}
 *     and {@code ppo}, {@code reference} defaults to {@code adapter} (the frozen SFT adapter) when
 *     {@code adapter.init_from} is given
 * @param rewards the rule rewards and reward models an online method scores completions with ({@link RuleRewardSpec};
 *     summed with their weights); required by {@code method: grpo} and {@code method: ppo}
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
        @JsonInclude(JsonInclude.Include.NON_NULL) KtoSection kto,
        @JsonInclude(JsonInclude.Include.NON_NULL) GrpoSection grpo,
        @JsonInclude(JsonInclude.Include.NON_NULL) PpoSection ppo,
        @JsonInclude(JsonInclude.Include.NON_NULL) List<RuleRewardSpec> rewards) {

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
        if (kind != Method.GRPO && grpo != null) {
            throw new BadInputException("grpo: settings given but method is " + method + " (set method: grpo)");
        }
        if (kind != Method.PPO && ppo != null) {
            throw new BadInputException("ppo: settings given but method is " + method + " (set method: ppo)");
        }
        boolean online = kind == Method.GRPO || kind == Method.PPO;
        if (!online && rewards != null) {
            throw new BadInputException("rewards: given but method is " + method + " (rule rewards score the completions "
                    + "of method: grpo and method: ppo)");
        }
        dpo = kind == Method.DPO && dpo == null ? DpoSection.defaults() : dpo;
        if (dpo != null) {
            dpo = dpo.withReference(reference("dpo.reference", dpo.reference(), adapter));
        }
        if (adapter.initFrom() != null && (kind == Method.REWARD || kind == Method.KTO)) {
            throw new BadInputException("adapter.init_from: method " + method + " starts from a fresh adapter in this "
                    + "version (init_from is for sft, dpo, ppo and grpo)");
        }
        kto = kind == Method.KTO && kto == null ? KtoSection.defaults() : kto;
        grpo = kind == Method.GRPO && grpo == null ? GrpoSection.defaults() : grpo;
        ppo = kind == Method.PPO && ppo == null ? PpoSection.defaults() : ppo;
        if (grpo != null) {
            grpo = grpo.withReference(reference("grpo.reference", grpo.reference(), adapter));
        }
        if (ppo != null) {
            ppo = ppo.withReference(reference("ppo.reference", ppo.reference(), adapter));
        }
        if (online) {
            RuleRewards.compile(rewards, "rewards"); // names the first bad entry's key now, not after the model loads
        }
        if (kind == Method.PPO && ppo.stepsPerRollout() > 1 && output.saveEverySteps() % ppo.stepsPerRollout() != 0) {
            throw new BadInputException("output.save_every_steps (" + output.saveEverySteps() + ") must be a multiple "
                    + "of ppo.num_ppo_epochs × ppo.num_mini_batches (" + ppo.stepsPerRollout() + "): a checkpoint must "
                    + "fall between rollout batches so that a resumed run samples as the uninterrupted one did");
        }
        if (kind == Method.GRPO) {
            int completions = train.microBatchSize() * train.gradientAccumulationSteps();
            if (completions % grpo.numGenerations() != 0) {
                throw new BadInputException("train.micro_batch_size × train.gradient_accumulation_steps (" + completions
                        + " completions per step) must be a multiple of grpo.num_generations (" + grpo.numGenerations()
                        + ")");
            }
            if (grpo.numIterations() > 1 && output.saveEverySteps() % grpo.numIterations() != 0) {
                throw new BadInputException("output.save_every_steps (" + output.saveEverySteps() + ") must be a multiple "
                        + "of grpo.num_iterations (" + grpo.numIterations() + "): a checkpoint must fall between "
                        + "generation batches so that a resumed run samples as the uninterrupted one did");
            }
        }
        if (!model.quantize().equals("none") && !adapter.isLora()) {
            throw new BadInputException("model.quantize: " + model.quantize() + " keeps the base frozen and quantised; "
                    + "train an adapter (adapter.type: lora) or set model.quantize: none");
        }
        if (!model.dtype().equals("float32") && !adapter.isLora()) {
            throw new BadInputException("model.dtype: " + model.dtype() + " keeps the base frozen in half precision; "
                    + "train an adapter (adapter.type: lora) or set model.dtype: float32");
        }
        if (kind != Method.SFT) {
            if (!adapter.isLora()) {
                throw new BadInputException("method: " + method + " needs adapter.type: lora " + (kind == Method.REWARD
                        ? "(a reward model is saved as a PEFT SEQ_CLS adapter with its score head)"
                        : "(the reference model is the base with the adapter disabled, so no second copy is held)"));
            }
        }
    }

    /**
     * A method's {@code reference} key as given: {@code base}, {@code adapter}, or absent (null).
     *
     * @throws BadInputException naming {@code key} for any other value
     */
    static String referenceKey(String key, String value) {
        String v = value == null ? null : value.toLowerCase(Locale.ROOT);
        if (v != null && !v.equals(DpoSection.BASE) && !v.equals(DpoSection.ADAPTER)) {
            throw new BadInputException(key + ": expected base or adapter, got '" + value + "'");
        }
        return v;
    }

    /**
     * The reference model a method with a KL term (DPO, PPO, GRPO) measures the policy against: as given, or by
     * default the frozen SFT adapter when the policy starts from one ({@code adapter.init_from}), else the base; the
     * adapter needs {@code adapter.init_from}, and the trained adapter must not take the reference adapter's name.
     */
    private static String reference(String key, String given, AdapterSection adapter) {
        String chosen = given != null ? given : adapter.initFrom() != null ? DpoSection.ADAPTER : DpoSection.BASE;
        if (chosen.equals(DpoSection.ADAPTER)) {
            if (adapter.initFrom() == null) {
                throw new BadInputException(key + ": adapter needs adapter.init_from (the SFT adapter that is both the "
                        + "reference and the policy's start)");
            }
            if (adapter.name().equals(DpoSection.REFERENCE_ADAPTER)) {
                throw new BadInputException("adapter.name: '" + adapter.name() + "' is the frozen reference adapter's "
                        + "name with " + key + ": adapter; choose another");
            }
        }
        return chosen;
    }

    /** The method as a closed set. */
    public Method methodKind() {
        return Method.parse(method);
    }
}
