package org.llamawb.tracking.mlflow;

/** An experiment as the server reports it; {@code lifecycleStage} is {@code active} or {@code deleted}. */
public record RemoteExperiment(String id, String name, String lifecycleStage) {}
