/**
 * What an evaluation produces and how it is shown: {@link org.llamawb.eval.report.TaskResult}s gathered in an
 * {@link org.llamawb.eval.report.EvalReport}, written as JSON, a console table, a Markdown report and a PNG
 * bar chart per task; a base-versus-adapter {@link org.llamawb.eval.report.Comparison}.
 */
package org.llamawb.eval.report;
