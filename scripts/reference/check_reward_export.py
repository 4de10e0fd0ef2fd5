"""Does Python transformers + PEFT score a reward model the Java workbench trained and saved the way Java does?

Run by hand from the repository root (never in CI):

    /work/refvenv/bin/python scripts/reference/check_reward_export.py

It runs the Java test RewardModelTrlParityTest#javaTrainedAdapterSavesAndReloads with
-Dllamawb.rewardExport=TMP: Java loads the PEFT reward adapter of finetune/src/test/resources/trl/reward/,
takes one gradient step of the reward loss on the fixture batch (every LoRA tensor and the score head move),
saves the result with RewardModel.save and writes the scores it computes after the step (java_scores.json).
This script then loads that directory with LlamaForSequenceClassification.from_pretrained(base, num_labels=1)
+ PeftModel.from_pretrained and scores the same batch.

Writes finetune/src/test/resources/trl/java-export/results.json (asserted by
RewardModelTrlParityTest#pythonScoresTheJavaTrainedRewardAdapterLikeJava) with the versions and the date.
"""
import datetime
import json
import os
import subprocess
import sys
import tempfile

import torch
from peft import PeftModel
from transformers import LlamaForSequenceClassification

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tiny  # noqa: E402

TRL = "finetune/src/test/resources/trl"
OUT = os.path.join(TRL, "java-export", "results.json")


def main():
    tmp = tempfile.mkdtemp(prefix="reward-export-")
    export = os.path.join(tmp, "reward")
    subprocess.run(["./mvnw", "-q", "-B", "-o", "-pl", "finetune", "-am", "test",
                    "-Dtest=RewardModelTrlParityTest#javaTrainedAdapterSavesAndReloads",
                    "-Dsurefire.failIfNoSpecifiedTests=false", "-Dllamawb.rewardExport=" + os.path.abspath(export)],
                   check=True, stdout=subprocess.DEVNULL)
    java = json.load(open(os.path.join(export, "java_scores.json")))
    config = json.load(open(os.path.join(export, "adapter_config.json")))
    batch = json.load(open(os.path.join(TRL, "reward", "batch.json")))
    ids = torch.tensor(batch["input_ids"])
    mask = torch.tensor(batch["attention_mask"])
    base = LlamaForSequenceClassification.from_pretrained(os.path.join(TRL, "base"), num_labels=1, dtype=torch.float32,
                                                           attn_implementation="eager")
    model = PeftModel.from_pretrained(base, export).eval()
    with torch.no_grad():
        scores = model(input_ids=ids, attention_mask=mask).logits.squeeze(-1)
    java_scores = torch.tensor(java["scores"])
    results = {
        "python_vs_java_scores_max_abs_diff": float((scores - java_scores).abs().max()),
        "java_step_changed_scores_max_abs": float((java_scores - torch.tensor(java["scores_before_step"])).abs().max()),
        "peft_task_type": config["task_type"],
        "modules_to_save": config["modules_to_save"],
        "python_scores": scores.tolist(),
        "java_scores": java["scores"],
        "meta": {**tiny.versions(), "date": datetime.date.today().isoformat()},
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    tiny.write_json(OUT, results)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
