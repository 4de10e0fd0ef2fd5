/**
 * Configuration files: the one strict YAML binder used by fine-tuning recipes, evaluation recipes and
 * evaluation tasks, with {@code --set key.path=value} overrides. A key given twice, an unknown key, a float
 * where an integer belongs or a failed record validation is a one-line error naming the file and line (or
 * the {@code --set}) and the key.
 */
package org.llamawb.config;
