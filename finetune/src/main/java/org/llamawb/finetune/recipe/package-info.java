/**
 * Recipes: YAML bound strictly (an unknown key is an error naming it and the closest valid key) into
 * records validated where they are built; {@code --set key=value} overrides any key before binding.
 */
package org.llamawb.finetune.recipe;
