#!/usr/bin/env bash
# Runs the benchmarks of bench/BENCHMARKS.md side by side with their Python peers, on this machine, in this
# run, and appends one JSON line per measurement to bench/results/<date>.jsonl.
#
#   bench/run.sh [group ...]     groups: gemm forward generate train remat remat-memory longctx data eval dpo
#                                dpo-remat precision grpo ppo spark (default: all but spark)
#
# Needs the reference venv for the peers (PY=/path/to/python, default /work/venv-ref/bin/python with torch,
# transformers, peft, lm-eval). Run it on an otherwise idle machine: every number is a median of timed
# steps after warm-up, and other load moves them.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
PY="${PY:-/work/venv-ref/bin/python}"
DATA="${DATA:-../shared/data}"
out="${OUT:-bench/results/$(date +%F).jsonl}"   # OUT=file to keep a series apart
mkdir -p bench/results /tmp/llamawb-bench
groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(gemm forward generate train remat remat-memory longctx data eval dpo dpo-remat precision grpo ppo)

emit() { # label, then the command; the command's last stdout line is the JSON result
  local label="$1"; shift
  echo "bench: $label" >&2
  local line
  line="$("$@" 2>/tmp/llamawb-bench/last.err | tail -n 1)" || { cat /tmp/llamawb-bench/last.err >&2; return 1; }
  printf '{"label":"%s","result":%s}\n' "$label" "$line" | tee -a "$out"
}

./workbench --help >/dev/null 2>&1 || true   # builds the CLI first
stories="$DATA/models/stories260K/stories260K.bin"
stories_hf=/tmp/llamawb-bench/stories260K-hf
[ -d "$stories_hf" ] || ./workbench model convert --model "$stories" --out "$stories_hf" >&2

peak() { # the measured GEMM ceiling (GFLOP/s at 2048³), for MFU
  ./workbench bench gemm --sizes 2048 --steps 10 | "$PY" -c 'import json,sys; print(round(json.load(sys.stdin)["results"]["2048"]["gflops"],1))'
}

# the rematerialisation shapes "batch seq layers"; SHAPES, POLICIES and PEER_GC narrow a remat/remat-memory rerun
IFS=, read -r -a shapes <<< "${SHAPES:-8 256 6,2 1024 6,1 2048 6,1 2048 24}"

for g in "${groups[@]}"; do
  case "$g" in
    gemm)
      emit "gemm java" ./workbench bench gemm --sizes 1024,2048 --steps 10
      emit "gemm python" "$PY" bench/peer/gemm.py --sizes 1024 2048 --repeats 10
      ;;
    forward)
      P="$(peak)"
      emit "forward 15M 8x256 java" ./workbench bench forward --batch 8 --seq 256 --steps 10 --warmup 3 --peak-gflops "$P"
      emit "forward 15M 8x256 python" "$PY" bench/peer/hf_forward.py --batch 8 --seq 256 --steps 10 --warmup 3 --peak-gflops "$P"
      ;;
    generate)
      emit "generate stories260K java" ./workbench bench generate --model "$stories" --new-tokens 255 --steps 5
      emit "generate stories260K python" "$PY" bench/peer/hf_generate.py --model "$stories_hf" --new-tokens 255 --repeats 5
      emit "generate 15M java" ./workbench bench generate --new-tokens 255 --steps 5
      emit "generate 15M python" "$PY" bench/peer/hf_generate.py --new-tokens 255 --repeats 5
      ;;
    train)
      P="$(peak)"
      emit "lora-train 15M 8x256 java" ./workbench bench train --batch 8 --seq 256 --steps 6 --warmup 2 --peak-gflops "$P"
      emit "lora-train 15M 8x256 python" "$PY" bench/peer/peft_train.py --batch 8 --seq 256 --steps 6 --warmup 2 --peak-gflops "$P"
      # assistant-only SFT: the first two thirds of every row are prompt (labels ignored)
      for round in 1 2; do
        emit "lora-sft 15M 8x256 prompt 0.67 java" ./workbench bench train --batch 8 --seq 256 --steps 6 --warmup 2 \
          --prompt-fraction 0.67 --peak-gflops "$P"
        emit "lora-sft 15M 8x256 prompt 0.67 python" "$PY" bench/peer/peft_train.py --batch 8 --seq 256 --steps 6 --warmup 2 \
          --prompt-fraction 0.67 --peak-gflops "$P"
      done
      ;;
    remat)
      # step time and peak RSS (default allocator); ROUNDS interleaved rounds (default 2), because single runs here vary by ±15%;
      # e.g. SHAPES="1 2048 24" POLICIES=full PEER_GC=on (SHAPES: "B T L,..."; an empty PEER_GC runs no peer)
      P="$(peak)"
      for round in $(seq 1 "${ROUNDS:-2}"); do
        for shape in "${shapes[@]}"; do
          set -- $shape
          for policy in ${POLICIES-none full hybrid hybrid-lean}; do
            emit "remat ${3}L ${1}x${2} $policy java" ./workbench bench train --batch "$1" --seq "$2" --layers "$3" \
              --remat "$policy" --steps 5 --warmup 1 --peak-gflops "$P"
          done
          for gc in ${PEER_GC-off on}; do
            emit "remat ${3}L ${1}x${2} gc-$gc python" "$PY" bench/peer/peft_train.py --batch "$1" --seq "$2" --layers "$3" \
              --grad-checkpointing "$gc" --steps 5 --warmup 1 --peak-gflops "$P"
          done
        done
      done
      ;;
    remat-memory)
      # activation memory = peak RSS - RSS before the first step, with glibc's mmap threshold fixed at 1 MiB so
      # that freed tensors go back to the OS at once (by default glibc keeps freed blocks of up to 32 MiB in its
      # heaps, and peak RSS then measures fragmentation as much as tensors); timing is not taken from these runs
      for shape in "${shapes[@]}"; do
        set -- $shape
        for policy in ${POLICIES-none full hybrid hybrid-lean}; do
          emit "remat-memory ${3}L ${1}x${2} $policy java" env MALLOC_MMAP_THRESHOLD_=1048576 ./workbench bench train \
            --batch "$1" --seq "$2" --layers "$3" --remat "$policy" --steps 3 --warmup 1
        done
      done
      ;;
    longctx)
      # a long-context LoRA run under an address-space cap (ulimit -v) that none cannot fit and hybrid can
      for policy in none hybrid; do
        label="longctx 6L 1x8192 $policy java, ulimit -v 4 GiB"
        echo "bench: $label" >&2
        set +e
        line="$( (ulimit -v 4194304; WORKBENCH_JAVA_OPTS="-Xmx384m -XX:ReservedCodeCacheSize=64m -XX:CompressedClassSpaceSize=64m \
          -XX:MaxMetaspaceSize=128m -Xss1m" ./workbench bench train --batch 1 --seq 8192 --remat "$policy" --steps 2 --warmup 0) \
          2>/tmp/llamawb-bench/last.err | tail -n 1)"
        rc=$?
        set -e
        if [ -z "$line" ]; then
          err="$(grep -m1 -E 'error|memory|Exception' /tmp/llamawb-bench/last.err | cut -c1-300 | sed 's/"/\\"/g')"
          line="{\"failed\":true,\"exit_code\":$rc,\"error\":\"$err\"}"
        fi
        printf '{"label":"%s","result":%s}\n' "$label" "$line" | tee -a "$out"
      done
      ;;
    data)
      for f in sft/fastchat-dummy-conversation/dummy_conversation.json sft/oasst-en100/en_100_tree.jsonl; do
        emit "data $f java" ./workbench data bench --data "$DATA/$f" --tokenizer "$DATA/tokenizers/llama/tokenizer.model" \
          --template vicuna_v1.1 --max-length 2048 --repeats 3
      done
      ;;
    eval)
      # a 1024-token window on both sides: some PIQA answers alone exceed stories260K's 512 positions
      # (lm-eval asserts on them, the workbench refuses them with one line)
      emit "eval gauntlet java" ./workbench eval recipes/eval/bench-gauntlet.yaml --model "$stories_hf" --bench \
        --max-length 1024 --out /tmp/llamawb-bench/eval-java
      emit "eval gauntlet python" "$PY" bench/peer/lmeval_gauntlet.py --model "$stories_hf" \
        --tasks arc_easy,piqa,copa,boolq,winogrande --batch-size 32 --max-length 1024
      ;;
    dpo)
      # LoRA DPO step against TRL's DPOTrainer + PEFT (reference = the adapter disabled on both sides), and the SFT
      # step on the same 2B rows on both sides, for the peak-RSS ratio DPO / SFT; B pairs of T tokens, the first
      # half of every row a prompt that chosen and rejected share; ROUNDS interleaved rounds (default 1)
      B="${DPO_PAIRS:-4}"; T="${DPO_SEQ:-256}"; F="${DPO_PROMPT:-0.5}"
      for round in $(seq 1 "${ROUNDS:-1}"); do
        emit "dpo 15M ${B}x2x${T} prompt $F java" ./workbench bench train --method dpo --batch "$B" --seq "$T" \
          --prompt-fraction "$F" --steps 4 --warmup 1
        emit "dpo 15M ${B}x2x${T} prompt $F python-trl" "$PY" bench/peer/trl_dpo.py --mode dpo --batch "$B" --seq "$T" \
          --prompt-fraction "$F" --steps 4 --warmup 1
        emit "dpo-sft 15M $((2 * B))x${T} prompt $F java" ./workbench bench train --method sft --batch "$((2 * B))" \
          --seq "$T" --prompt-fraction "$F" --steps 4 --warmup 1
        emit "dpo-sft 15M $((2 * B))x${T} prompt $F python-trl" "$PY" bench/peer/trl_dpo.py --mode sft --batch "$B" \
          --seq "$T" --prompt-fraction "$F" --steps 4 --warmup 1
      done
      ;;
    spark)
      # the data-parallel all-reduce alone (broadcast of the adapter, one gradient per worker back, the driver's
      # ordered sum), two executor JVMs here, for LoRA r 8-64 on the 15M shape (all-linear: 32,832·r values) and
      # r 8 on the 7B shape (2,498,560·r); no Python peer
      ./mvnw -q -B -DskipTests -pl distributed -am package >&2
      opens="$(sed -n 's/.*<spark.jvm.opens>\(.*\)<\/spark.jvm.opens>.*/\1/p' pom.xml)"
      # the local cluster's workers keep their executors' logs in SPARK_HOME/work (else ./work)
      emit "spark all-reduce 2 executors" env SPARK_HOME=/tmp/llamawb-bench/spark-home java $opens -Dai.djl.offline=true -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
        -cp "$root/distributed/target/workbench-spark.jar" org.llamawb.distributed.AllReduceBench 'local-cluster[2,1,1536]' \
        "${SPARK_SIZES:-262656,525312,1050624,2101248,19988480}" "${SPARK_STEPS:-5}"
      ;;
    precision)
      # the LoRA step of a SmolLM2-135M-shaped model (random weights: hidden 576, 30 layers, 9 heads, 3 kv heads,
      # intermediate 1536, vocab 49152, tied) in fp32 and in bf16 (train.precision: bf16 beside the peer under
      # torch.autocast("cpu", torch.bfloat16)); PREC_BATCH x PREC_SEQ tokens (default 1 x 256). Where the CPU has no
      # bfloat16 instructions the workbench falls back to fp32; BF16_FORCE=1 makes it emulate them as torch does.
      # PREC_LAYERS (default 30) shortens the stack for a smoke run on a slow machine
      B="${PREC_BATCH:-1}"; T="${PREC_SEQ:-256}"; L="${PREC_LAYERS:-30}"
      smol=(--dim 576 --layers "$L" --heads 9 --kv-heads 3 --hidden 1536 --vocab 49152 --targets all-linear)
      force=""; [ "${BF16_FORCE:-0}" = 1 ] && force="-Dworkbench.bf16=force"
      for round in $(seq 1 "${ROUNDS:-1}"); do
        emit "precision smollm2-${L}L ${B}x${T} fp32 java" ./workbench bench train "${smol[@]}" --batch "$B" --seq "$T" \
          --steps 3 --warmup 1
        emit "precision smollm2-${L}L ${B}x${T} fp32 python" "$PY" bench/peer/peft_train.py "${smol[@]}" --batch "$B" \
          --seq "$T" --steps 3 --warmup 1
        emit "precision smollm2-${L}L ${B}x${T} bf16 java" env WORKBENCH_JAVA_OPTS="$force" ./workbench bench train \
          "${smol[@]}" --batch "$B" --seq "$T" --steps 3 --warmup 1 --precision bf16
        emit "precision smollm2-${L}L ${B}x${T} bf16 python" "$PY" bench/peer/peft_train.py "${smol[@]}" --batch "$B" \
          --seq "$T" --steps 3 --warmup 1 --autocast bf16
      done
      ;;
    dpo-remat)
      # the DPO step of the dpo group under each rematerialisation policy: peak RSS with the default allocator, then
      # activation memory (peak RSS - RSS before the first step) with glibc's mmap threshold fixed at 1 MiB, as in
      # remat-memory; a short series (2 timed steps), for memory, not for speed
      B="${DPO_PAIRS:-4}"; T="${DPO_SEQ:-256}"; F="${DPO_PROMPT:-0.5}"
      for policy in ${POLICIES-none full hybrid hybrid-lean}; do
        emit "dpo-remat 15M ${B}x2x${T} prompt $F $policy java" ./workbench bench train --method dpo --batch "$B" \
          --seq "$T" --prompt-fraction "$F" --remat "$policy" --steps 2 --warmup 1
        emit "dpo-remat-memory 15M ${B}x2x${T} prompt $F $policy java" env MALLOC_MMAP_THRESHOLD_=1048576 \
          ./workbench bench train --method dpo --batch "$B" --seq "$T" --prompt-fraction "$F" --remat "$policy" \
          --steps 2 --warmup 1
      done
      ;;
    grpo|ppo)
      # GRPO / PPO with LoRA beside TRL (GRPOTrainer of TRL 1.16; PPOTrainer of TRL 1.12.0, the last that has it, kept
      # in its own folder TRL_PPO), rollout tokens/s (sampling) and update tokens/s apart, and the SFT step on the same
      # base and micro-batch rows (P + C tokens, the prompt's labels ignored) for the peak-RSS ratio; prompts of P
      # tokens, at most C new ones; grpo: B completions per step, G per prompt; ppo: B per step, NMB steps per pass,
      # EPOCHS passes per rollout batch; ROUNDS interleaved rounds (default 1); every run counts rollout batches
      P="${RL_PROMPT:-32}"; C="${RL_NEW:-32}"; tok="$DATA/tokenizers/llama/tokenizer.model"
      if [ "$g" = grpo ]; then
        B="${GRPO_BATCH:-16}"; G="${GRPO_G:-8}"
        ours=(--batch "$B" --generations "$G"); peer=(bench/peer/trl_grpo.py --batch "$B" --generations "$G")
        label="grpo 15M ${B}x(${P}+${C}) G $G"
      else
        B="${PPO_BATCH:-8}"; NMB="${PPO_MINI_BATCHES:-2}"; EPOCHS="${PPO_EPOCHS:-2}"
        TRL_PPO="${TRL_PPO:-/tmp/llamawb-bench/trl-1.12.0}"
        [ -d "$TRL_PPO/trl/experimental/ppo" ] || "$PY" -m pip install -q --no-deps --target "$TRL_PPO" trl==1.12.0 >&2
        ours=(--batch "$B" --mini-batches "$NMB" --ppo-epochs "$EPOCHS")
        peer=(bench/peer/trl_ppo.py --trl "$TRL_PPO" --batch "$B" --mini-batches "$NMB" --ppo-epochs "$EPOCHS")
        label="ppo 15M ${B}x(${P}+${C}) mb $NMB epochs $EPOCHS"
      fi
      F="$("$PY" -c "print(round($P / ($P + $C), 4))")"
      for round in $(seq 1 "${ROUNDS:-1}"); do
        emit "$label java" ./workbench bench train --method "$g" "${ours[@]}" --prompt-tokens "$P" --new-tokens "$C" \
          --tokenizer "$tok" --steps "${RL_STEPS:-2}" --warmup 1
        emit "$label python-trl" "$PY" "${peer[@]}" --prompt-tokens "$P" --new-tokens "$C" --steps "${RL_STEPS:-2}" --warmup 1
        # the SFT step holds the same tokenizer as the grpo/ppo run (a run holds its tokenizer), for peak RSS
        emit "$g-sft 15M ${B}x$((P + C)) prompt $F java" ./workbench bench train --method sft --batch "$B" \
          --seq "$((P + C))" --prompt-fraction "$F" --tokenizer "$tok" --steps 3 --warmup 1
        emit "$g-sft 15M ${B}x$((P + C)) prompt $F python-trl" "$PY" bench/peer/trl_dpo.py --mode sft --batch "$((B / 2))" \
          --seq "$((P + C))" --prompt-fraction "$F" --steps 3 --warmup 1
      done
      ;;
    *) echo "bench: unknown group '$g'" >&2; exit 2 ;;
  esac
done
echo "bench: results appended to $out" >&2
