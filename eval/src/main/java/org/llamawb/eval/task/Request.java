package org.llamawb.eval.task;

/** A log-likelihood request as text: score {@code continuation} after {@code context}. */
public record Request(String context, String continuation) {}
