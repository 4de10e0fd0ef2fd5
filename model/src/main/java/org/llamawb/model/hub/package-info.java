/**
 * Models and data from where users keep them: the Hugging Face Hub and plain {@code https://} URLs,
 * resolved to local files in one place, {@link org.llamawb.model.hub.Sources#resolve}.
 *
 * <p>{@code hf:} sources ({@link org.llamawb.model.hub.HubSource}) download into the cache layout Python's
 * {@code huggingface_hub} uses ({@code $HF_HUB_CACHE}, else {@code $HF_HOME/hub}):
 * <pre>
 * models--ORG--NAME/
 *   blobs/&lt;etag&gt;                    the bytes, named by the Hub's sha256 (LFS) or git blob sha1
 *   snapshots/&lt;commit&gt;/&lt;path&gt;       relative symlinks to ../../blobs/&lt;etag&gt;
 *   refs/&lt;revision&gt;                 the commit a branch or tag pointed at when last fetched
 * </pre>
 * so a file either side downloaded is found by the other. {@link org.llamawb.model.hub.HubClient} speaks
 * the Hub's HTTP protocol as {@code huggingface_hub} does ({@code X-Repo-Commit}, {@code X-Linked-Etag},
 * {@code X-Linked-Size}, redirects to a CDN without the token); a download resumes from its
 * {@code .incomplete} file and is checked against the Hub's hash before it enters the cache.
 * {@link org.llamawb.model.hub.HubEnvironment} reads {@code HF_ENDPOINT}, {@code HF_TOKEN},
 * {@code HF_HUB_OFFLINE} and the cache folders once; every failure is one line that says what to do.
 */
package org.llamawb.model.hub;
