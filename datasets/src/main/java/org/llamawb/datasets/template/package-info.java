/**
 * Chat templates: how a conversation becomes the text a model sees, and which characters of that text
 * are trained (the assistant's answers with the token that ends each answer).
 *
 * <p>Built-in templates ({@link org.llamawb.datasets.template.BuiltinTemplate}) reproduce FastChat's
 * conversation templates (vicuna_v1.1, koala_v1, alpaca) and the {@code chat_template} of the matching
 * Hugging Face models (Llama-2-chat, Llama-3-Instruct, ChatML as in OpenHermes-2.5) character for
 * character. {@link org.llamawb.datasets.template.JinjaChatTemplate} renders any model's own Jinja
 * {@code chat_template} from {@code tokenizer_config.json} with Jinjava, extended with what Hugging Face's
 * Jinja environment adds ({@code raise_exception}, {@code strftime_now}, Python string methods,
 * Python-style {@code tojson} and {@code trim}, {@code items}, {@code {% generation %}}), after
 * {@link org.llamawb.datasets.template.PythonJinjaSyntax} has rewritten the Python-Jinja syntax Jinjava's
 * parser lacks (stepped slices, Python string escapes, keyword-argument precedence).
 * {@link org.llamawb.datasets.template.ChatTemplates#resolve} picks one by name.
 */
package org.llamawb.datasets.template;
