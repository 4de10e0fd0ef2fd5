package org.llamawb.cli;

import java.nio.file.Path;
import org.apache.commons.cli.Options;
import org.llamawb.datasets.source.ColumnMapping;
import org.llamawb.datasets.source.DataFormat;
import org.llamawb.datasets.source.OnError;
import org.llamawb.datasets.source.ReadOptions;
import org.llamawb.datasets.template.BuiltinTemplate;
import org.llamawb.datasets.template.ChatTemplate;
import org.llamawb.datasets.template.ChatTemplates;
import org.llamawb.datasets.tokenize.EncodeOptions;
import org.llamawb.datasets.tokenize.ExampleEncoder;
import org.llamawb.datasets.tokenize.Truncation;
import org.llamawb.model.tokenizer.LlamaTokenizer;

/**
 * The flags {@code data inspect} and {@code data validate} share: {@code --data FILE [--format F]
 * [--columns K=F,...] [--template NAME] --tokenizer M [--max-length N]}, and the encoder they describe.
 */
record DataInput(Path data, DataFormat format, ColumnMapping columns, String templateName, Path tokenizerPath,
        int maxLength) {

    static void addOptions(Options o) {
        o.addOption(Flags.required("data", "FILE", "a data file: JSON array or JSON lines (plain or gzip), or Parquet"));
        o.addOption(Flags.opt("format", "F", "record format (default: detected); one of " + DataFormat.names()));
        o.addOption(Flags.opt("columns", "K=F,...", "where the format's keys are when the file names them"
                + " differently, e.g. instruction=question,output=answer or prompt=prompt,answer_a=response_0,"
                + "answer_b=response_1,preferred=better_response_id (default: as guessed from the first record)"));
        o.addOption(Flags.opt("template", "NAME", "chat template: " + BuiltinTemplate.names() + ", model (the"
                + " tokenizer's chat_template) or a .jinja file (default: model when it has one, else vicuna_v1.1)"));
        o.addOption(Flags.required("tokenizer", "M", "tokenizer: a model directory, tokenizer.json, tokenizer.model,"
                + " llama2.c tokenizer.bin or .gguf"));
        o.addOption(Flags.opt("max-length", "N", "tokens per sequence; longer ones are truncated (default 2048)"));
    }

    static DataInput of(Flags f) {
        Path data = f.existing("data");
        DataFormat format = f.has("format") ? DataFormat.parse(f.string("format")) : null;
        ColumnMapping columns = f.has("columns") ? ColumnMapping.parse("--columns", f.string("columns"))
                : ColumnMapping.NONE;
        int maxLength = f.integer("max-length", 2048);
        if (maxLength < 2) {
            throw new UsageException("--max-length must be >= 2, got " + maxLength);
        }
        return new DataInput(data, format, columns, f.string("template", null), f.existing("tokenizer"), maxLength);
    }

    /** The reader options: problems are collected (skip), never fatal. */
    ReadOptions readOptions() {
        return ReadOptions.skipping().withOnError(OnError.SKIP).withFormat(format).withColumns(columns)
                .withKeepProblems(1000);
    }

    /** The reader options for throughput runs: skipped records are counted, not kept. */
    ReadOptions benchReadOptions() {
        return ReadOptions.skipping().withFormat(format).withColumns(columns);
    }

    /** Loads the tokenizer, resolves the template, and builds the encoder (the caller closes both). */
    Encoding open() {
        LlamaTokenizer tokenizer = LlamaTokenizer.load(tokenizerPath);
        try {
            return new Encoding(tokenizer, encoder(tokenizer, tokenizerPath));
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    /**
     * The encoder over an opened tokenizer; the template is {@code --template}, else the model's own when
     * {@code templateSource} (where {@code model} reads it) has one, else vicuna_v1.1.
     */
    ExampleEncoder encoder(LlamaTokenizer tokenizer, Path templateSource) {
        String name = templateName != null ? templateName
                : ChatTemplates.hasModelTemplate(tokenizer, templateSource) ? ChatTemplates.MODEL
                : BuiltinTemplate.VICUNA_V1_1.wireName();
        ChatTemplate template = ChatTemplates.resolve(name, tokenizer, templateSource);
        return new ExampleEncoder(tokenizer, template, new EncodeOptions(maxLength, Truncation.RIGHT, 0));
    }

    /** A tokenizer and the encoder over it. */
    record Encoding(LlamaTokenizer tokenizer, ExampleEncoder encoder) implements AutoCloseable {
        @Override
        public void close() {
            encoder.close();
            tokenizer.close();
        }
    }
}
