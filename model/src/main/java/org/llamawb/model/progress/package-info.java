/**
 * Progress of long tasks (training, evaluation, conversion, downloads) for people watching:
 * {@link org.llamawb.model.progress.Progress} draws a bar with rate and ETA on a terminal and writes
 * occasional plain lines elsewhere (logs, CI).
 */
package org.llamawb.model.progress;
