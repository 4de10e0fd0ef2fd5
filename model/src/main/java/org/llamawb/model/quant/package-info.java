/**
 * Weight-only quantisation of frozen bases as bitsandbytes defines it, on plain arrays: {@link Nf4} (4-bit
 * NormalFloat, QLoRA's format, with optional double quantisation of the block scales) and {@link Int8Rowwise}
 * (one scale per output row, LLM.int8()'s vector-wise codes). Codes and dequantised values equal bitsandbytes'
 * bit for bit (NF4QuantTest, against scripts/reference/make_quant_fixtures.py). {@link GgufBlockWeight} keeps a GGUF
 * file's own Q8_0/Q4_0/Q4_1 blocks instead ({@code model.quantize: keep}), widened to the values the up-front
 * dequantiser gives, bit for bit (GgufKeptBlocksTest).
 */
package org.llamawb.model.quant;
