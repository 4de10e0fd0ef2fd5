package org.llamawb.finetune.recipe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llamawb.adapters.TargetModules;
import org.llamawb.model.BadInputException;
import org.llamawb.model.ComputePrecision;
import org.llamawb.model.quant.FrozenStorage;
import org.llamawb.model.quant.HalfWeight;
import org.llamawb.model.quant.QuantizedWeight;

class RecipeLoaderTest {
    @TempDir
    Path tmp;

    static final String MINIMAL = """
            model:
              path: some/model
            data:
              sources:
                - path: data.json
            """;

    Path write(String yaml) throws Exception {
        return Files.writeString(tmp.resolve("r.yaml"), yaml);
    }

    String error(String yaml, String... sets) throws Exception {
        Path f = write(yaml);
        return assertThrows(BadInputException.class, () -> RecipeLoader.load(f, Recipe.class, List.of(sets))).getMessage();
    }

    @Test
    void defaultsFillAMinimalRecipe() throws Exception {
        Recipe r = RecipeLoader.load(write(MINIMAL), Recipe.class, List.of());
        assertEquals("sft", r.method());
        assertEquals("none", r.adapter().type());
        assertEquals(2e-4, r.train().learningRate());
        assertEquals("cosine", r.train().lrSchedule());
        assertEquals("vicuna_v1.1", r.data().template());
        assertEquals("runs/latest", r.output().dir());
    }

    @Test
    void unknownKeyNamesItAndTheClosestValidKey() throws Exception {
        String m = error(MINIMAL + "train:\n  learning_rat: 1e-4\n");
        assertTrue(m.contains("r.yaml") && m.contains("unknown key 'train.learning_rat'")
                && m.contains("did you mean 'learning_rate'"), m);
        assertEquals(1, m.lines().count(), "one line");
    }

    @Test
    void setOverridesAnyKeyWithYamlValues() throws Exception {
        Recipe r = RecipeLoader.load(write(MINIMAL), Recipe.class, List.of("train.learning_rate=1e-3", "adapter.type=lora",
                "adapter.target_modules=[q_proj, v_proj]", "adapter.r=4", "data.packing=true", "output.dir=elsewhere"));
        assertEquals(1e-3, r.train().learningRate());
        assertEquals(4, r.adapter().r());
        assertEquals(new TargetModules.Names(List.of("q_proj", "v_proj")), r.adapter().loraConfig().targetModules());
        assertTrue(r.data().packing());
        assertEquals("elsewhere", r.output().dir());
        String m = error(MINIMAL, "train.warmup=3");
        assertTrue(m.contains("unknown key 'train.warmup'") && m.contains("warmup_steps"), m);
    }

    @Test
    void useDoraReachesTheAdapterConfig() throws Exception {
        Recipe plain = RecipeLoader.load(write(MINIMAL), Recipe.class, List.of("adapter.type=lora"));
        assertFalse(plain.adapter().loraConfig().useDora());
        Recipe dora = RecipeLoader.load(write(MINIMAL + "adapter:\n  type: lora\n  use_dora: true\n"), Recipe.class,
                List.of());
        assertTrue(dora.adapter().loraConfig().useDora());
        String m = error(MINIMAL + "adapter:\n  type: lora\n  use_dora: maybe\n");
        assertTrue(m.contains("use_dora"), m);
    }

    @Test
    void quantizeNamesTheBaseStorageAndNeedsAnAdapter() throws Exception {
        assertNull(RecipeLoader.load(write(MINIMAL), Recipe.class, List.of()).model().quantization());
        Recipe nf4 = RecipeLoader.load(write(MINIMAL), Recipe.class, List.of("model.quantize=nf4", "adapter.type=lora"));
        assertEquals(QuantizedWeight.Kind.NF4, nf4.model().quantization());
        String m = error(MINIMAL, "model.quantize=q4", "adapter.type=lora");
        assertTrue(m.contains("model.quantize") && m.contains("nf4"), m);
        m = error(MINIMAL, "model.quantize=int8");
        assertTrue(m.contains("model.quantize") && m.contains("adapter.type: lora"), m);
    }

    @Test
    void quantizeKeepHoldsAGgufFilesBlocksInTheChosenDtype() throws Exception {
        Recipe keep = RecipeLoader.load(write(MINIMAL), Recipe.class, List.of("model.quantize=keep", "adapter.type=lora"));
        assertNull(keep.model().quantization(), "keep quantises nothing itself");
        assertEquals(FrozenStorage.keepingGguf(null), keep.model().storage());
        Recipe bf16 = RecipeLoader.load(write(MINIMAL), Recipe.class,
                List.of("model.quantize=keep", "model.dtype=bf16", "adapter.type=lora"));
        assertEquals(FrozenStorage.keepingGguf(HalfWeight.Format.BF16), bf16.model().storage());
        String m = error(MINIMAL, "model.quantize=keep");
        assertTrue(m.contains("model.quantize: keep") && m.contains("adapter.type: lora"), m);
        m = error(MINIMAL, "model.quantize=gguf", "adapter.type=lora");
        assertTrue(m.contains("model.quantize: expected none, nf4, int8 or keep, got 'gguf'"), m);
        m = error("model:\n  init:\n    hidden_size: 64\n  tokenizer: tok.model\n  quantize: keep\n"
                + "adapter:\n  type: lora\ndata:\n  sources:\n    - path: data.json\n");
        assertTrue(m.contains("model.quantize: keep") && m.contains("model.init"), m);
    }

    @Test
    void precisionIsFp32UnlessTheRecipeAsksForBf16() throws Exception {
        assertEquals(ComputePrecision.FP32, RecipeLoader.load(write(MINIMAL), Recipe.class, List.of()).train().computePrecision());
        Recipe bf16 = RecipeLoader.load(write(MINIMAL + "train:\n  precision: bf16\n"), Recipe.class, List.of());
        assertEquals(ComputePrecision.BF16, bf16.train().computePrecision());
        assertEquals("bf16", RecipeLoader.flatten(bf16).get("train.precision"));
        String m = error(MINIMAL + "train:\n  precision: fp16\n");
        assertTrue(m.contains("train.precision: unknown precision 'fp16' (expected fp32 or bf16)"), m);
        m = error(MINIMAL, "train.precision=BF16");
        assertTrue(m.contains("train.precision: unknown precision 'BF16'"), m);
    }

    @Test
    void dtypeNamesTheBaseStorageAndNeedsAnAdapter() throws Exception {
        assertEquals(FrozenStorage.FLOAT32, RecipeLoader.load(write(MINIMAL), Recipe.class, List.of()).model().storage());
        Recipe bf16 = RecipeLoader.load(write(MINIMAL), Recipe.class, List.of("model.dtype=bf16", "adapter.type=lora"));
        assertEquals(new FrozenStorage(HalfWeight.Format.BF16, null), bf16.model().storage());
        Recipe qlora = RecipeLoader.load(write(MINIMAL), Recipe.class,
                List.of("model.dtype=fp16", "model.quantize=nf4", "adapter.type=lora"));
        assertEquals(new FrozenStorage(HalfWeight.Format.FP16, QuantizedWeight.Kind.NF4), qlora.model().storage());
        String m = error(MINIMAL, "model.dtype=float16", "adapter.type=lora");
        assertTrue(m.contains("model.dtype") && m.contains("bf16") && m.contains("'float16'"), m);
        m = error(MINIMAL, "model.dtype=bf16");
        assertTrue(m.contains("model.dtype: bf16") && m.contains("adapter.type: lora"), m);
    }

    @Test
    void wrongValuesAndMissingSectionsAreOneLineNamingTheKey() throws Exception {
        assertTrue(error(MINIMAL + "train:\n  micro_batch_size: lots\n").contains("train.micro_batch_size"));
        assertTrue(error(MINIMAL + "train:\n  micro_batch_size: 0\n").contains("train.micro_batch_size must be > 0"));
        assertTrue(error(MINIMAL + "train:\n  rematerialization: some\n").contains("train.rematerialization: unknown policy 'some'"));
        assertTrue(error(MINIMAL + "adapter:\n  target_modules: [q_proj, x_proj]\n").contains("unknown module 'x_proj'"));
        assertTrue(error("data:\n  sources: [{path: a.json}]\n").contains("missing required section 'model'"));
        assertTrue(error(MINIMAL + "method: orpo\n").contains("method: 'orpo' is not available"));
        assertTrue(error("model: [\n").contains("not valid YAML"));
    }

    @Test
    void preferenceMethodsTakeTheirSectionsAndNeedLora() throws Exception {
        String lora = "adapter:\n  type: lora\n";
        Recipe dpo = RecipeLoader.load(write(MINIMAL + lora + "method: dpo\n"), Recipe.class, List.of("dpo.beta=0.5"));
        assertEquals(Method.DPO, dpo.methodKind());
        assertEquals(0.5, dpo.dpo().beta());
        assertEquals("sigmoid", dpo.dpo().lossType());
        assertEquals(null, dpo.kto());
        Recipe kto = RecipeLoader.load(write(MINIMAL + lora + "method: kto\n"), Recipe.class, List.of());
        assertEquals(1.0, kto.kto().undesirableWeight());
        assertEquals(kto, RecipeLoader.load(Files.writeString(tmp.resolve("kto.yaml"), RecipeLoader.toYaml(kto)),
                Recipe.class, List.of()));
        assertTrue(error(MINIMAL + "method: dpo\n").contains("method: dpo needs adapter.type: lora"));
        assertTrue(error(MINIMAL + "dpo:\n  beta: 0.2\n").contains("dpo: settings given but method is sft"));
        // every method trains under every rematerialisation policy (MethodRematerializationTest)
        assertEquals(org.llamawb.finetune.remat.Rematerialization.HYBRID, RecipeLoader.load(write(MINIMAL + lora
                + "method: kto\n"), Recipe.class, List.of("train.rematerialization=hybrid")).train().policy());
        assertTrue(error(MINIMAL + lora + "method: dpo\ndpo:\n  loss_type: exo\n").contains("dpo.loss_type: unknown loss 'exo'"));
        assertEquals(null, RecipeLoader.flatten(RecipeLoader.load(write(MINIMAL), Recipe.class, List.of())).get("dpo"),
                "an SFT recipe has no dpo parameters");
    }

    @Test
    void theResolvedRecipeRoundTripsThroughYamlAndFlattens() throws Exception {
        Recipe r = RecipeLoader.load(write(MINIMAL), Recipe.class, List.of("adapter.type=lora", "train.seed=7"));
        Path again = Files.writeString(tmp.resolve("resolved.yaml"), RecipeLoader.toYaml(r));
        assertEquals(r, RecipeLoader.load(again, Recipe.class, List.of()));
        Map<String, String> flat = RecipeLoader.flatten(r);
        assertEquals("7", flat.get("train.seed"));
        assertEquals("lora", flat.get("adapter.type"));
    }

    @Test
    void aSectionGivenTwiceIsRefusedNotMerged() throws Exception {
        // before: the second train: replaced the first and its learning rate vanished without a word
        String m = error(MINIMAL + "train:\n  learning_rate: 1e-3\ntrain:\n  max_steps: 5\n");
        assertTrue(m.contains("r.yaml: line 8: duplicate key 'train' in recipe"), m);
        assertEquals(1, m.lines().count(), "one line");
    }
}
