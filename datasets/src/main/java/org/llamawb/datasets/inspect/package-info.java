/**
 * The back end of {@code workbench data inspect|validate}: {@link org.llamawb.datasets.inspect.DataInspector}
 * runs a file through the template and tokenizer as training would, {@link org.llamawb.datasets.inspect.TrainedText}
 * marks the trained text of rendered examples, and {@link org.llamawb.datasets.inspect.Inspection} holds the
 * statistics and the problems as {@code file:line: reason}.
 */
package org.llamawb.datasets.inspect;
