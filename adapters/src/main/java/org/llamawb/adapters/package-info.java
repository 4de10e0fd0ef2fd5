/**
 * LoRA adapters (Hu et al., 2021) beside frozen LLaMA projections: {@link org.llamawb.adapters.LoraConfig}
 * says where and how large, {@link org.llamawb.adapters.LoraLinear} adds {@code s·B·A·x} to one
 * projection, and {@link org.llamawb.adapters.LoraModel} holds named adapters over one base model
 * (enable, disable, activate, merge, unmerge) and reads and writes them in PEFT's format.
 */
package org.llamawb.adapters;
