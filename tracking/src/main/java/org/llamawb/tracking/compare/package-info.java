/**
 * Comparing runs read back from the MLflow server ({@code workbench runs list|compare}): a table of the
 * params that differ and the final/best metric values, and a PNG plot of one metric over steps.
 */
package org.llamawb.tracking.compare;
