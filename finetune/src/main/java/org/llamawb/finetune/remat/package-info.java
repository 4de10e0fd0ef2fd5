/**
 * Rematerialisation policies: what a training step keeps from its forward pass and what it recomputes
 * during the backward pass ({@code none}, {@code full} and the LLaMA paper's {@code hybrid}).
 */
package org.llamawb.finetune.remat;
