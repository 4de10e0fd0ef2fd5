package org.llamawb.finetune.recipe;

import java.util.Map;
import org.llamawb.model.BadInputException;
import org.llamawb.model.quant.FrozenStorage;
import org.llamawb.model.quant.HalfWeight;
import org.llamawb.model.quant.QuantizedWeight;

/**
 * The model a run starts from: a pretrained checkpoint, or (training from scratch) the shape of a
 * randomly initialised one.
 *
 * @param path a Hugging Face directory, a llama2.c checkpoint or a GGUF file
 * @param tokenizer the tokenizer when it does not sit with the model (llama2.c {@code tokenizer.bin},
 *     SentencePiece {@code tokenizer.model}, {@code tokenizer.json}); required with {@code init}
 * @param attention {@code fused} (libtorch's memory-efficient kernel) or {@code explicit}
 * @param init instead of {@code path}: {@code config.json} keys of a new model ({@code hidden_size},
 *     {@code intermediate_size}, {@code num_hidden_layers}, {@code num_attention_heads}, ...; the vocabulary
 *     and special tokens default to the tokenizer's), initialised with {@code train.seed}
 * @param quantize {@code none} (the default), {@code nf4} or {@code int8}: keep the frozen base's decoder projections
 *     quantised as bitsandbytes does (QLoRA), each dequantised only while it is used; needs an adapter; or {@code keep}:
 *     a GGUF file's Q8_0/Q4_0/Q4_1 projections stay in the file's blocks (F16/BF16 ones in half precision), each
 *     widened only while it is used to exactly the values loading dequantises to
 * @param dtype {@code float32} (the default), {@code bf16} or {@code fp16}: keep the frozen base (decoder projections
 *     not quantised, embedding, LM head) in half precision, widened to float32 per layer on each use; norms, the
 *     adapter, its gradients and the optimiser state stay float32; needs an adapter
 */
public record ModelSection(String path, String tokenizer, String attention, Map<String, Object> init, String quantize,
        String dtype) {
    /** {@code model.quantize: keep}: a GGUF file's quantised projections stay in their blocks. */
    public static final String KEEP = "keep";

    public ModelSection {
        if ((path == null || path.isBlank()) == (init == null)) {
            throw new BadInputException("model: give exactly one of model.path (a checkpoint) and model.init (a new model's shape)");
        }
        if (init != null && (tokenizer == null || tokenizer.isBlank())) {
            throw new BadInputException("model.tokenizer is required with model.init (the new model needs a vocabulary)");
        }
        init = init == null ? null : Map.copyOf(init);
        attention = attention == null ? "fused" : attention;
        if (!attention.equals("fused") && !attention.equals("explicit")) {
            throw new BadInputException("model.attention: expected fused or explicit, got '" + attention + "'");
        }
        quantize = quantize == null ? "none" : quantize;
        if (!quantize.equals("none") && !quantize.equals(KEEP)) {
            try {
                QuantizedWeight.Kind.parse(quantize);
            } catch (IllegalArgumentException e) {
                throw new BadInputException("model.quantize: expected none, nf4, int8 or keep, got '" + quantize + "'");
            }
        }
        if (quantize.equals(KEEP) && init != null) {
            throw new BadInputException("model.quantize: keep holds the quantised blocks of a GGUF model.path; model.init "
                    + "draws a new model (use nf4 or int8 to quantise it)");
        }
        dtype = dtype == null ? "float32" : dtype;
        try {
            HalfWeight.Format.parse(dtype);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("model.dtype: expected float32, bf16 or fp16, got '" + dtype + "'");
        }
    }

    /** How the frozen base is held ({@code model.dtype}, {@code model.quantize}). */
    public FrozenStorage storage() {
        HalfWeight.Format half = HalfWeight.Format.parse(dtype);
        return quantize.equals(KEEP) ? FrozenStorage.keepingGguf(half) : new FrozenStorage(half, quantization());
    }

    /** The quantisation the workbench applies to the frozen base (nf4, int8), or null (none; keep's are the file's). */
    public QuantizedWeight.Kind quantization() {
        return quantize.equals("none") || quantize.equals(KEEP) ? null : QuantizedWeight.Kind.parse(quantize);
    }
}
