package org.llamawb.model.hub;

import java.nio.file.Path;

/**
 * The one place a model, tokenizer, adapter or data source named by the user becomes a local path:
 * <ul>
 *   <li>{@code hf:ORG/NAME[@REVISION][/PATH]} and {@code hf:datasets/ORG/NAME[@REVISION][/PATH][#SPLIT]}:
 *       fetched into the Hugging Face cache ({@link HubSource});</li>
 *   <li>{@code https://...[#sha256=HEX]}: fetched into the workbench's URL cache;</li>
 *   <li>anything else: a local path, relative to {@code baseDir} when one is given.</li>
 * </ul>
 * Recipes' {@code model.path}, {@code model.tokenizer} and {@code data.sources[].path}, and the CLI's
 * file flags ({@code --model}, {@code --data}, ...) all come through here.
 */
public final class Sources {
    private Sources() {}

    /** Whether {@code spec} names something to download rather than a local path. */
    public static boolean isRemote(String spec) {
        return HubSource.isHub(spec) || UrlDownload.isUrl(spec);
    }

    /** {@link #resolve(String, Path)} with paths relative to the working directory. */
    public static Path resolve(String spec) {
        return resolve(spec, null);
    }

    /** The local path of {@code spec}, downloading it first when it is remote, in this process's environment. */
    public static Path resolve(String spec, Path baseDir) {
        return resolve(spec, baseDir, isRemote(spec) ? HubEnvironment.system() : null);
    }

    /** As {@link #resolve(String, Path)} in a given environment (tests, and callers that set their own log). */
    public static Path resolve(String spec, Path baseDir, HubEnvironment env) {
        if (HubSource.isHub(spec)) {
            return new HubDownload(env).resolve(HubSource.parse(spec));
        }
        if (UrlDownload.isUrl(spec)) {
            return new UrlDownload(env).resolve(spec);
        }
        return baseDir == null ? Path.of(spec) : baseDir.resolve(spec);
    }
}
