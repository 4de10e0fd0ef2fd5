package org.llamawb.tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TrackingSettingsTest {

    @Test
    void flagWinsOverRecipe() {
        TrackingSettings s = TrackingSettings.resolve("http://127.0.0.1:5001", "http://recipe:5000", "exp");
        assertEquals(Optional.of(URI.create("http://127.0.0.1:5001")), s.trackingUri());
        assertEquals("exp", s.experiment());
    }

    @Test
    void recipeUsedWhenNoFlag() {
        TrackingSettings s = TrackingSettings.resolve(" ", "https://mlflow.example:443/", null);
        assertEquals(Optional.of(URI.create("https://mlflow.example:443/")), s.trackingUri());
        assertEquals(TrackingSettings.DEFAULT_EXPERIMENT, s.experiment());
    }

    @Test
    void badUriIsOneLineNamingItsSource() {
        TrackingException e = assertThrows(TrackingException.class,
                () -> TrackingSettings.resolve(null, "file:///tmp/mlruns", "x"));
        assertTrue(e.getMessage().startsWith("tracking.uri: 'file:///tmp/mlruns' is not an MLflow server URI"),
                e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
        e = assertThrows(TrackingException.class, () -> TrackingSettings.resolve("localhost:5000", null, "x"));
        assertTrue(e.getMessage().startsWith("--tracking-uri:"), e.getMessage());
    }
}
