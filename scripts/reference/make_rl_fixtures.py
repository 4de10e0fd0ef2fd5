"""TRL reference numbers for the PPO and GRPO maths on fixed random tensors.

Writes finetune/src/test/resources/rl/*.json (see the README.md there for every key).
Run by hand from the repository root (never in CI):

    /work/refvenv/bin/python scripts/reference/make_rl_fixtures.py

TRL 1.16 no longer ships PPOTrainer, so the PPO steps are replicated from TRL's last PPOTrainer
(trl/trainer/ppo_trainer.py at huggingface/trl be8a08742d7fb9191a48b7cb5f26c5a3e93130e8, steps "4. compute
rewards" to "6. compute advantages and returns" and the minibatch losses), with masked_mean / masked_var /
masked_whiten from trl/trainer/utils.py of the same commit and AdaptiveKLController from trl/trainer/utils.py
of TRL 0.11 (the InstructGPT controller). Each replicated block says so.

GRPO uses TRL 1.16 itself: GRPOTrainer._compute_loss is called on a stand-in `self` whose model forward returns
fixed per-token log-probabilities; advantages replicate GRPOTrainer._generate_and_score_completions
(grpo_trainer.py lines ~2761-2788 in 1.16.0) around TRL's own nanstd.

Inputs are drawn in float32 (so Java reads exactly the same numbers) and the reference is computed in float64.
"""
import json
import os
import types
from collections import defaultdict

import torch
import trl
from trl.trainer.grpo_trainer import GRPOTrainer
from trl.trainer.utils import nanstd

OUT = "finetune/src/test/resources/rl"
INVALID_LOGPROB = 1.0  # TRL PPOTrainer's fill value for padded log-probabilities


def f32(t):
    """Round to float32 (what Java reads), then widen for an exact float64 reference."""
    return t.float().double()


def lst(t):
    return t.tolist()


# --- replicated from trl/trainer/utils.py at be8a087 (TRL 0.2x) -------------------------------------------
def masked_mean(values, mask, axis=None):
    if axis is not None:
        return (values * mask).sum(axis=axis) / mask.sum(axis=axis)
    return (values * mask).sum() / mask.sum()


def masked_var(values, mask, unbiased=True):
    mean = masked_mean(values, mask)
    centered_values = values - mean
    variance = masked_mean(centered_values**2, mask)
    if unbiased:
        mask_sum = mask.sum()
        bessel_correction = mask_sum / (mask_sum - 1)
        variance = variance * bessel_correction
    return variance


def masked_whiten(values, mask, shift_mean=True):
    mean, var = masked_mean(values, mask), masked_var(values, mask)
    whitened = (values - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        whitened += mean
    return whitened


# --- replicated from TRL 0.11 trl/trainer/utils.py (AdaptiveKLController, Ziegler et al. 2019) --------------
class AdaptiveKLController:
    def __init__(self, init_kl_coef, target, horizon):
        self.value = init_kl_coef
        self.target = target
        self.horizon = horizon

    def update(self, current, n_steps):
        proportional_error = min(max(current / self.target - 1, -0.2), 0.2)  # np.clip in TRL
        mult = 1 + proportional_error * n_steps / self.horizon
        self.value *= mult


def ppo_case(gen, kl_estimator, whiten_rewards, kl_coef=0.05, gamma=1.0, lam=0.95, cliprange=0.2,
             cliprange_value=0.2):
    B, T = 4, 7
    # index of the last real response token per row (TRL's sequence_lengths); one row fills the whole width
    sequence_lengths = torch.tensor([2, 6, 4, 0])
    logprobs = f32(-torch.rand(B, T, generator=gen) * 3)
    ref_logprobs = f32(logprobs + torch.randn(B, T, generator=gen) * 0.3)
    values = f32(torch.randn(B, T, generator=gen))
    scores = f32(torch.randn(B, generator=gen) * 2)
    new_logprobs = f32(logprobs + torch.randn(B, T, generator=gen) * 0.25)
    vpred = f32(values + torch.randn(B, T, generator=gen) * 0.4)
    raw = dict(logprobs=lst(logprobs.float()), ref_logprobs=lst(ref_logprobs.float()), values=lst(values.float()),
               scores=lst(scores.float()), new_logprobs=lst(new_logprobs.float()), vpred=lst(vpred.float()))

    # --- replicated from trl/trainer/ppo_trainer.py at be8a087, steps 3-6 -----------------------------------
    response_idxs = torch.arange(T).repeat(B, 1)
    padding_mask = response_idxs > sequence_lengths.unsqueeze(1)
    logprobs = torch.masked_fill(logprobs, padding_mask, INVALID_LOGPROB)
    ref_logprobs = torch.masked_fill(ref_logprobs, padding_mask, INVALID_LOGPROB)
    sequence_lengths_p1 = sequence_lengths + 1
    padding_mask_p1 = response_idxs > (sequence_lengths_p1.unsqueeze(1))
    values = torch.masked_fill(values, padding_mask_p1, 0)
    logr = ref_logprobs - logprobs
    kl = -logr if kl_estimator == "k1" else (logr.exp() - 1) - logr
    non_score_reward = -kl_coef * kl
    rewards = non_score_reward.clone()
    actual_start = torch.arange(rewards.size(0))
    actual_end = torch.where(sequence_lengths_p1 < rewards.size(1), sequence_lengths_p1, sequence_lengths)
    rewards[(actual_start, actual_end)] += scores  # TRL writes [[...]]; a tuple is the same index
    if whiten_rewards:
        rewards = masked_whiten(rewards, mask=~padding_mask_p1, shift_mean=False)
        rewards = torch.masked_fill(rewards, padding_mask_p1, 0)
    lastgaelam = 0
    advantages_reversed = []
    for t in reversed(range(T)):
        nextvalues = values[:, t + 1] if t < T - 1 else 0.0
        delta = rewards[:, t] + gamma * nextvalues - values[:, t]
        lastgaelam = delta + gamma * lam * lastgaelam
        advantages_reversed.append(lastgaelam)
    raw_advantages = torch.stack(advantages_reversed[::-1], axis=1)
    returns = raw_advantages + values
    advantages = masked_whiten(raw_advantages, ~padding_mask)
    advantages = torch.masked_fill(advantages, padding_mask, 0)

    # --- the minibatch losses (same file, the micro-batch loop), one micro-batch = the whole batch ---------
    new_logprobs_leaf = new_logprobs.clone().requires_grad_(True)  # for the gradients Java must reproduce
    vpred_leaf = vpred.clone().requires_grad_(True)
    new_logprobs = torch.masked_fill(new_logprobs_leaf, padding_mask, INVALID_LOGPROB)
    vpred = torch.masked_fill(vpred_leaf, padding_mask_p1, 0)
    vpredclipped = torch.clamp(vpred, values - cliprange_value, values + cliprange_value)
    vf_losses1 = torch.square(vpred - returns)
    vf_losses2 = torch.square(vpredclipped - returns)
    vf_loss_max = torch.max(vf_losses1, vf_losses2)
    vf_loss = 0.5 * masked_mean(vf_loss_max, ~padding_mask_p1)
    vf_clipfrac = masked_mean((vf_losses2 > vf_losses1).double(), ~padding_mask_p1)
    logprobs_diff = new_logprobs - logprobs
    ratio = torch.exp(logprobs_diff)
    pg_losses = -advantages * ratio
    pg_losses2 = -advantages * torch.clamp(ratio, 1.0 - cliprange, 1.0 + cliprange)
    pg_loss_max = torch.max(pg_losses, pg_losses2)
    pg_loss = masked_mean(pg_loss_max, ~padding_mask)
    pg_clipfrac = masked_mean((pg_losses2 > pg_losses).double(), ~padding_mask)
    approxkl = 0.5 * (logprobs_diff**2).mean()
    pg_loss.backward()
    vf_loss.backward()
    mean_kl = kl.sum(1).mean()
    mean_non_score_reward = non_score_reward.sum(1).mean()

    return dict(
        inputs=dict(sequence_lengths=lst(sequence_lengths), kl_coef=kl_coef, kl_estimator=kl_estimator,
                    whiten_rewards=whiten_rewards, gamma=gamma, lam=lam, cliprange=cliprange,
                    cliprange_value=cliprange_value, **raw),
        kl=lst(kl), rewards=lst(rewards), raw_advantages=lst(raw_advantages), returns=lst(returns),
        advantages=lst(advantages), grad_policy_loss=lst(new_logprobs_leaf.grad),
        grad_value_loss=lst(vpred_leaf.grad), response_mask=lst((~padding_mask).int()),
        value_mask=lst((~padding_mask_p1).int()),
        metrics={"loss/policy_avg": pg_loss.item(), "loss/value_avg": vf_loss.item(),
                 "policy/clipfrac_avg": pg_clipfrac.item(), "val/clipfrac_avg": vf_clipfrac.item(),
                 "policy/approxkl_avg": approxkl.item(), "val/ratio": ratio.mean().item(),
                 "objective/kl": mean_kl.item(), "objective/non_score_reward": mean_non_score_reward.item(),
                 "objective/rlhf_reward": (mean_non_score_reward + scores.mean()).item(),
                 "objective/scores": scores.mean().item()})


def whiten_case(gen):
    values = f32(torch.randn(3, 5, generator=gen) * 2 + 0.7)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]]).bool()
    return dict(values=lst(values.float()), mask=lst(mask.int()),
                mean=masked_mean(values, mask).item(), var=masked_var(values, mask).item(),
                whitened=lst(masked_whiten(values, mask)), whitened_keep_mean=lst(masked_whiten(values, mask, False)))


def kl_controller_case():
    ctl = AdaptiveKLController(0.2, 6.0, 10000)
    steps = [(3.0, 256), (7.0, 256), (50.0, 512), (6.0, 64), (0.0, 1024)]
    trace = []
    for current, n in steps:
        ctl.update(current, n)
        trace.append(ctl.value)
    return dict(init_kl_coef=0.2, target=6.0, horizon=10000, updates=[[c, n] for c, n in steps], values=trace)


def grpo_advantages_case(gen, scale_rewards):
    G, P, F = 4, 3, 2
    rewards_per_func = f32(torch.randint(0, 3, (P * G, F), generator=gen).double() * 0.5)
    rewards_per_func[4:8, :] = torch.tensor([1.0, 0.5])  # a group whose rewards are all equal: std 0
    weights = torch.tensor([1.0, 0.5], dtype=torch.float64)
    # --- replicated from GRPOTrainer._generate_and_score_completions, TRL 1.16.0, "sum_then_normalize" ----
    rewards = (rewards_per_func * weights.unsqueeze(0)).nansum(dim=1)
    mean_grouped_rewards = torch.nanmean(rewards.view(-1, G), dim=1).repeat_interleave(G, dim=0)
    if scale_rewards in ["group", "none"]:
        std_rewards = nanstd(rewards.view(-1, G), dim=1).repeat_interleave(G, dim=0)
    else:
        std_rewards = nanstd(rewards).expand_as(rewards)
    advantages = rewards - mean_grouped_rewards
    if scale_rewards != "none":
        advantages = advantages / (std_rewards + 1e-4)
    is_std_zero = torch.isclose(std_rewards, torch.zeros_like(std_rewards))
    return dict(num_generations=G, scale_rewards=scale_rewards, rewards_per_func=lst(rewards_per_func),
                reward_weights=lst(weights), rewards=lst(rewards), advantages=lst(advantages),
                metrics={"reward": torch.nanmean(rewards).item(), "reward_std": nanstd(rewards).item(),
                         "frac_reward_zero_std": is_std_zero.double().mean().item()})


def grpo_loss_case(gen, loss_type, beta, epsilon_low=0.2, epsilon_high=0.28, max_completion_length=6):
    N, T = 6, max_completion_length
    old = f32(-torch.rand(N, T, generator=gen) * 3)
    new = f32(old + torch.randn(N, T, generator=gen) * 0.3)
    ref = f32(new + torch.randn(N, T, generator=gen) * 0.2)
    adv = f32(torch.randn(N, generator=gen))
    lengths = torch.tensor([6, 3, 1, 5, 6, 2])
    mask = (torch.arange(T).repeat(N, 1) < lengths.unsqueeze(1)).long()
    captured = {}

    # A stand-in for the trainer: only the attributes _compute_loss reads, one process, no accumulation.
    leaf = new.clone().requires_grad_(True)

    def fake_logps(model, *args, **kwargs):
        return leaf, torch.zeros_like(new), None

    acc = types.SimpleNamespace(num_processes=1, reduce=lambda t, reduction="sum": t, gather=lambda t: t,
                                gather_for_metrics=lambda t: t, sync_gradients=True)
    fake = types.SimpleNamespace(
        _get_per_token_logps_and_entropies=fake_logps, aux_loss_enabled=False, top_entropy_quantile=1.0,
        off_policy_mask_threshold=None, importance_sampling_level="token", beta=beta, loss_type=loss_type,
        epsilon_low=epsilon_low, epsilon_high=epsilon_high, use_vllm=False, model=types.SimpleNamespace(training=True),
        current_gradient_accumulation_steps=1, max_completion_length=max_completion_length, accelerator=acc,
        _metrics={"train": defaultdict(list)}, _entropy_bonus_enabled=False,
        args=types.SimpleNamespace(delta=None, use_bias_correction_kl=False, steps_per_generation=1))
    inputs = dict(prompt_ids=torch.ones(N, 2, dtype=torch.long), prompt_mask=torch.ones(N, 2, dtype=torch.long),
                  completion_ids=torch.ones(N, T, dtype=torch.long), completion_mask=mask, advantages=adv,
                  old_per_token_logps=old, ref_per_token_logps=ref,
                  num_items_in_batch=mask.sum().double())
    loss = GRPOTrainer._compute_loss(fake, None, inputs)
    loss.backward()
    m = fake._metrics["train"]
    out = dict(loss_type=loss_type, beta=beta, epsilon_low=epsilon_low, epsilon_high=epsilon_high,
               max_completion_length=max_completion_length, per_token_logps=lst(new.float()),
               old_per_token_logps=lst(old.float()), ref_per_token_logps=lst(ref.float()), advantages=lst(adv.float()),
               completion_mask=lst(mask), loss=loss.item(), grad_per_token_logps=lst(leaf.grad),
               metrics={"clip_ratio/region_mean": m["clip_ratio/region_mean"][0],
                        "clip_ratio/low_mean": m["clip_ratio/low_mean"][0],
                        "clip_ratio/high_mean": m["clip_ratio/high_mean"][0]})
    if beta != 0.0:
        out["metrics"]["kl"] = m["kl"][0]
        logr = ref - new
        out["per_token_kl"] = lst(torch.exp(logr) - logr - 1)  # the expression in _compute_loss, for the element test
    return out


def completions_case():
    # GRPOTrainer._generate_and_score_completions logs: mean completion length, and the fraction whose last
    # token is neither EOS nor pad (cut at max_completion_length)
    eos, pad = 2, 0
    completion_ids = [[5, 6, 2], [7, 8, 9, 10], [4, 2], [9, 9, 9, 9]]
    lengths = torch.tensor([len(c) for c in completion_ids])
    is_truncated = torch.tensor([ids[-1] not in [eos, pad] for ids in completion_ids])
    return dict(eos=eos, pad=pad, completion_ids=completion_ids,
                metrics={"completions/mean_length": lengths.double().mean().item(),
                         "completions/clipped_ratio": is_truncated.double().mean().item()})


def grpo_step_case():
    """One GRPO loss + backward on the tiny Llama + PEFT LoRA of ../trl (base/, policy/), from fixed completions.

    The per-token log-probabilities are transformers' logits at the positions that predict each completion token,
    log-softmaxed and gathered (what TRL's fused LM head computes), temperature 1; the reference is the same
    model with the adapter disabled (TRL's PEFT path); old log-probs are the detached current ones (one update
    per generation); the loss is TRL 1.16's own _compute_loss (dapo, beta 0.04).
    """
    from peft import PeftModel
    from safetensors.torch import save_file
    from transformers import LlamaForCausalLM

    torch.set_default_dtype(torch.float32)
    base = LlamaForCausalLM.from_pretrained("finetune/src/test/resources/trl/base", dtype=torch.float32,
                                            attn_implementation="eager")
    model = PeftModel.from_pretrained(base, "finetune/src/test/resources/trl/policy", is_trainable=True)
    model.train()
    gen = torch.Generator().manual_seed(1516)
    G, P, C = 3, 4, 5  # completions per prompt, prompt length (no padding), completion width
    prompts = torch.randint(4, base.config.vocab_size, (2, P), generator=gen)
    prompt_ids = prompts.repeat_interleave(G, dim=0)  # [6, P]
    completion_ids = torch.randint(4, base.config.vocab_size, (2 * G, C), generator=gen)
    lengths = torch.tensor([5, 3, 4, 2, 5, 1])
    completion_mask = (torch.arange(C).repeat(2 * G, 1) < lengths.unsqueeze(1)).long()
    completion_ids = completion_ids.masked_fill(completion_mask == 0, 0)  # right padding with pad id 0
    rewards = torch.tensor([1.0, 0.0, 0.5, 0.0, 0.0, 1.0], dtype=torch.float64)
    # GRPO advantages as in grpo_advantages_case (scale "group")
    mean = rewards.view(-1, G).mean(dim=1).repeat_interleave(G)
    std = nanstd(rewards.view(-1, G), dim=1).repeat_interleave(G)
    advantages = ((rewards - mean) / (std + 1e-4)).float()
    input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
    attention_mask = torch.cat([torch.ones_like(prompt_ids), completion_mask], dim=1)

    def logps(m):
        logits = m(input_ids=input_ids, attention_mask=attention_mask).logits[:, P - 1:-1]  # [6, C, V]
        return torch.gather(logits.log_softmax(-1), 2, completion_ids.unsqueeze(-1)).squeeze(-1)

    with torch.no_grad(), model.disable_adapter():
        ref = logps(model)
    captured = {}

    def fake_logps(m, *args, **kwargs):
        captured["logps"] = logps(model)
        return captured["logps"], torch.zeros_like(captured["logps"]), None

    acc = types.SimpleNamespace(num_processes=1, reduce=lambda t, reduction="sum": t, gather=lambda t: t,
                                gather_for_metrics=lambda t: t, sync_gradients=True)
    fake = types.SimpleNamespace(
        _get_per_token_logps_and_entropies=fake_logps, aux_loss_enabled=False, top_entropy_quantile=1.0,
        off_policy_mask_threshold=None, importance_sampling_level="token", beta=0.04, loss_type="dapo",
        epsilon_low=0.2, epsilon_high=0.28, use_vllm=False, model=types.SimpleNamespace(training=True),
        current_gradient_accumulation_steps=1, max_completion_length=C, accelerator=acc,
        _metrics={"train": defaultdict(list)}, _entropy_bonus_enabled=False,
        args=types.SimpleNamespace(delta=None, use_bias_correction_kl=False, steps_per_generation=1))
    inputs = dict(prompt_ids=prompt_ids, prompt_mask=torch.ones_like(prompt_ids), completion_ids=completion_ids,
                  completion_mask=completion_mask, advantages=advantages, ref_per_token_logps=ref,
                  num_items_in_batch=completion_mask.sum().float())
    loss = GRPOTrainer._compute_loss(fake, model, inputs)
    loss.backward()
    grads = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            grads[name.replace(".default", "")] = p.grad.detach().clone().contiguous()
    d = os.path.join(OUT, "grpo_step")
    os.makedirs(d, exist_ok=True)
    save_file(grads, os.path.join(d, "grads.safetensors"))
    m = fake._metrics["train"]
    with open(os.path.join(d, "batch.json"), "w") as fh:
        json.dump(dict(prompt_ids=lst(prompt_ids), completion_ids=lst(completion_ids),
                       completion_mask=lst(completion_mask), rewards=lst(rewards), num_generations=G,
                       advantages=lst(advantages), loss_type="dapo", beta=0.04, epsilon_low=0.2, epsilon_high=0.28,
                       per_token_logps=lst(captured["logps"].detach()), ref_per_token_logps=lst(ref),
                       loss=loss.item(), metrics={"kl": m["kl"][0],
                                                  "clip_ratio/region_mean": m["clip_ratio/region_mean"][0]},
                       versions={"trl": trl.__version__, "torch": torch.__version__}), fh, indent=1)
        fh.write("\n")
    print("wrote", d)


def main():
    torch.set_default_dtype(torch.float64)
    gen = torch.Generator().manual_seed(1515)
    os.makedirs(OUT, exist_ok=True)
    files = {
        "ppo.json": {"k1": ppo_case(gen, "k1", False), "k3": ppo_case(gen, "k3", False),
                     "k1_whiten_rewards": ppo_case(gen, "k1", True),
                     "k3_gamma_lam": ppo_case(gen, "k3", False, kl_coef=0.2, gamma=0.9, lam=0.8,
                                              cliprange=0.1, cliprange_value=0.05)},
        "whiten.json": whiten_case(gen),
        "kl_controller.json": kl_controller_case(),
        "grpo_advantages.json": {s: grpo_advantages_case(gen, s) for s in ["group", "none", "batch"]},
        "grpo_loss.json": {"dapo": grpo_loss_case(gen, "dapo", 0.04), "dapo_beta0": grpo_loss_case(gen, "dapo", 0.0),
                           "grpo": grpo_loss_case(gen, "grpo", 0.04), "bnpo": grpo_loss_case(gen, "bnpo", 0.04),
                           "dr_grpo": grpo_loss_case(gen, "dr_grpo", 0.04)},
        "grpo_completions.json": completions_case(),
    }
    for name, data in files.items():
        data = dict(data, versions={"trl": trl.__version__, "torch": torch.__version__})
        with open(os.path.join(OUT, name), "w") as fh:
            json.dump(data, fh, indent=1)
            fh.write("\n")
        print("wrote", os.path.join(OUT, name))
    grpo_step_case()


if __name__ == "__main__":
    main()
