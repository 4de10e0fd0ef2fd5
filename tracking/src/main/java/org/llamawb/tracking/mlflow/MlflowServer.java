package org.llamawb.tracking.mlflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Closeable;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.mlflow.api.proto.Service;
import org.mlflow.tracking.MlflowClient;
import org.mlflow.tracking.MlflowClientException;
import org.mlflow.tracking.MlflowHttpException;
import org.mlflow.tracking.RunsPage;
import org.mlflow.tracking.creds.BasicMlflowHostCreds;
import org.mlflow.tracking.creds.MlflowHostCredsProvider;
import org.mlflow_project.apachehttp.client.config.RequestConfig;
import org.mlflow_project.apachehttp.conn.ConnectTimeoutException;
import org.mlflow_project.apachehttp.impl.client.CloseableHttpClient;
import org.mlflow_project.apachehttp.impl.client.HttpClientBuilder;

/**
 * One MLflow tracking server. Tracking calls go through {@code MlflowClient} (2.17.2, which speaks the
 * REST API that MLflow 3.x servers still serve); artifacts go over the {@code mlflow-artifacts}
 * endpoints with {@code java.net.http}, because the Java client's artifact calls shell out to Python.
 *
 * <p>Every failure is an {@link MlflowCallException} whose {@link MlflowCallException.Kind} tells the
 * caller whether a retry could duplicate what was sent. The client itself never retries.
 */
public final class MlflowServer implements Closeable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts/";

    private final URI uri;
    private final MlflowClient client;
    private final CloseableHttpClient trackingHttp;
    private final HttpClient artifactHttp;
    private final MlflowTimeouts timeouts;
    private final String authorization;
    private final Map<String, String> artifactRoots = new ConcurrentHashMap<>();

    private MlflowServer(URI uri, MlflowTimeouts timeouts, String user, String password, String token) {
        this.uri = uri;
        this.timeouts = timeouts;
        String host = uri.toString().replaceAll("/+$", "");
        BasicMlflowHostCreds creds = new BasicMlflowHostCreds(host, user, password, token, false);
        RequestConfig config = RequestConfig.custom()
                .setConnectTimeout((int) timeouts.connect().toMillis())
                .setConnectionRequestTimeout((int) timeouts.connect().toMillis())
                .setSocketTimeout((int) timeouts.read().toMillis())
                .build();
        this.trackingHttp = HttpClientBuilder.create().setDefaultRequestConfig(config)
                .disableAutomaticRetries().build();
        this.client = clientWith(creds, trackingHttp);
        this.artifactHttp = HttpClient.newBuilder().connectTimeout(timeouts.connect())
                .followRedirects(HttpClient.Redirect.NORMAL).build();
        if (token != null) {
            this.authorization = "Bearer " + token;
        } else if (user != null && password != null) {
            this.authorization = "Basic " + Base64.getEncoder()
                    .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        } else {
            this.authorization = null;
        }
    }

    /**
     * Connects (lazily: no request is made here) to an {@code http(s)://} tracking server. Credentials
     * come from MLflow's usual variables MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD.
     */
    public static MlflowServer connect(URI uri, MlflowTimeouts timeouts) {
        String scheme = uri.getScheme();
        if (scheme == null || !(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
            throw new IllegalArgumentException("tracking URI must be http(s)://host:port, got " + uri);
        }
        return new MlflowServer(uri, timeouts, System.getenv("MLFLOW_TRACKING_USERNAME"),
                System.getenv("MLFLOW_TRACKING_PASSWORD"), System.getenv("MLFLOW_TRACKING_TOKEN"));
    }

    /**
     * An {@code MlflowClient} whose HTTP caller uses our timeouts and makes exactly one attempt per call.
     * The 2.17.2 client offers no setting for either: its caller is built in the constructor with an
     * apache client that has infinite timeouts and three blind retries (which could duplicate a metric
     * batch whose response was lost). We swap in a caller built by the client's own constructor.
     */
    private static MlflowClient clientWith(BasicMlflowHostCreds creds, CloseableHttpClient http) {
        MlflowClient client = new MlflowClient(creds);
        try {
            Class<?> callerClass = Class.forName("org.mlflow.tracking.MlflowHttpCaller");
            Constructor<?> ctor = callerClass.getDeclaredConstructor(MlflowHostCredsProvider.class,
                    int.class, int.class, int.class, CloseableHttpClient.class);
            ctor.setAccessible(true);
            // (creds, max total wait on HTTP 429 ms, first 429 back-off ms, attempts, client)
            Object caller = ctor.newInstance(creds, 0, 1000, 1, http);
            Field field = MlflowClient.class.getDeclaredField("httpCaller");
            field.setAccessible(true);
            field.set(client, caller);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("org.mlflow:mlflow-client is not the 2.17.2 this code was written"
                    + " for: cannot give its HTTP caller timeouts", e);
        }
        return client;
    }

    public URI uri() {
        return uri;
    }

    // ---- experiments ------------------------------------------------------------------------------

    /** The id of the active experiment with this name, created when absent. */
    public String experimentId(String name) {
        Optional<RemoteExperiment> found = experiment(name);
        if (found.isPresent()) {
            return activeId(found.get());
        }
        try {
            return call("create experiment '" + name + "'", () -> client.createExperiment(name));
        } catch (MlflowCallException e) {
            // Another process created it between our look-up and our create.
            if (e.errorCode().equals("RESOURCE_ALREADY_EXISTS")) {
                return activeId(experiment(name).orElseThrow(() -> e));
            }
            throw e;
        }
    }

    private String activeId(RemoteExperiment e) {
        if (!"active".equals(e.lifecycleStage())) {
            throw new MlflowCallException(MlflowCallException.Kind.REJECTED, 400, "INVALID_STATE",
                    "MLflow experiment '" + e.name() + "' is deleted; restore it or choose another name", null);
        }
        return e.id();
    }

    public Optional<RemoteExperiment> experiment(String name) {
        return call("look up experiment '" + name + "'", () -> client.getExperimentByName(name))
                .map(MlflowServer::experimentOf);
    }

    /** All active experiments. */
    public List<RemoteExperiment> experiments() {
        List<RemoteExperiment> out = new ArrayList<>();
        String token = null;
        do {
            String page = token;
            var result = call("search experiments", () -> client.searchExperiments(null,
                    Service.ViewType.ACTIVE_ONLY, 1000, List.of("name ASC"), page));
            result.getItems().forEach(e -> out.add(experimentOf(e)));
            token = result.getNextPageToken().orElse(null);
        } while (token != null);
        return out;
    }

    private static RemoteExperiment experimentOf(Service.Experiment e) {
        return new RemoteExperiment(e.getExperimentId(), e.getName(), e.getLifecycleStage());
    }

    // ---- runs -------------------------------------------------------------------------------------

    /** Creates a run (status RUNNING) and returns its id. */
    public String createRun(String experimentId, String runName, long startTime, Map<String, String> tags) {
        Service.CreateRun.Builder request = Service.CreateRun.newBuilder()
                .setExperimentId(experimentId).setRunName(runName).setStartTime(startTime);
        tags.forEach((k, v) -> request.addTags(Service.RunTag.newBuilder().setKey(k).setValue(v)));
        return call("create run '" + runName + "'", () -> client.createRun(request.build())).getRunId();
    }

    /** Active runs of these experiments matching an MLflow filter string (empty: all), oldest first. */
    public List<RemoteRun> searchRuns(List<String> experimentIds, String filter) {
        List<RemoteRun> out = new ArrayList<>();
        String token = null;
        do {
            String page = token;
            RunsPage result = call("search runs", () -> client.searchRuns(experimentIds, filter,
                    Service.ViewType.ACTIVE_ONLY, 1000, List.of("attributes.start_time ASC"), page));
            result.getItems().forEach(r -> out.add(runOf(r)));
            token = result.getNextPageToken().orElse(null);
        } while (token != null);
        return out;
    }

    public RemoteRun getRun(String runId) {
        return runOf(call("get run " + runId, () -> client.getRun(runId)));
    }

    private static RemoteRun runOf(Service.Run run) {
        Service.RunInfo info = run.getInfo();
        Map<String, String> params = new LinkedHashMap<>();
        run.getData().getParamsList().forEach(p -> params.put(p.getKey(), p.getValue()));
        Map<String, String> tags = new LinkedHashMap<>();
        run.getData().getTagsList().forEach(t -> tags.put(t.getKey(), t.getValue()));
        Map<String, MetricPoint> metrics = new LinkedHashMap<>();
        run.getData().getMetricsList().forEach(m -> metrics.put(m.getKey(),
                new MetricPoint(m.getKey(), m.getValue(), m.getStep(), m.getTimestamp())));
        List<MlflowDataset> inputs = new ArrayList<>();
        for (Service.DatasetInput in : run.getInputs().getDatasetInputsList()) {
            Map<String, String> inputTags = new LinkedHashMap<>();
            in.getTagsList().forEach(t -> inputTags.put(t.getKey(), t.getValue()));
            Service.Dataset d = in.getDataset();
            inputs.add(new MlflowDataset(d.getName(), d.getDigest(), d.getSourceType(), d.getSource(),
                    d.getProfile(), d.getSchema(), inputTags));
        }
        String name = info.getRunName().isEmpty() ? tags.getOrDefault("mlflow.runName", "") : info.getRunName();
        return new RemoteRun(info.getRunId(), info.getExperimentId(), name, info.getStatus().name(),
                info.getStartTime(), info.getEndTime(), info.getArtifactUri(), params, tags, metrics, inputs);
    }

    /** Logs metrics, params and tags in one request (at most 1000 in all, 100 params, 100 tags). */
    public void logBatch(String runId, List<MetricPoint> metrics, Map<String, String> params,
            Map<String, String> tags) {
        List<Service.Metric> m = new ArrayList<>(metrics.size());
        for (MetricPoint p : metrics) {
            m.add(Service.Metric.newBuilder().setKey(p.key()).setValue(p.value()).setStep(p.step())
                    .setTimestamp(p.timestamp()).build());
        }
        List<Service.Param> p = new ArrayList<>(params.size());
        params.forEach((k, v) -> p.add(Service.Param.newBuilder().setKey(k).setValue(v).build()));
        List<Service.RunTag> t = new ArrayList<>(tags.size());
        tags.forEach((k, v) -> t.add(Service.RunTag.newBuilder().setKey(k).setValue(v).build()));
        call("log batch to run " + runId, () -> {
            client.logBatch(runId, m, p, t);
            return null;
        });
    }

    /** Records dataset inputs ({@code runs/log-inputs}; the server ignores an input logged twice). */
    public void logInputs(String runId, List<MlflowDataset> datasets) {
        ObjectNode body = JSON.createObjectNode().put("run_id", runId);
        ArrayNode list = body.putArray("datasets");
        for (MlflowDataset d : datasets) {
            ObjectNode input = list.addObject();
            ArrayNode tags = input.putArray("tags");
            d.tags().forEach((k, v) -> tags.addObject().put("key", k).put("value", v));
            ObjectNode ds = input.putObject("dataset").put("name", d.name()).put("digest", d.digest())
                    .put("source_type", d.sourceType()).put("source", d.source());
            if (!d.profile().isEmpty()) {
                ds.put("profile", d.profile());
            }
            if (!d.schema().isEmpty()) {
                ds.put("schema", d.schema());
            }
        }
        call("log inputs to run " + runId, () -> client.sendPost("runs/log-inputs", body.toString()));
    }

    /**
     * Sets the run's status. A terminal status (FINISHED, FAILED, KILLED) also sets its end time;
     * RUNNING re-opens a resumed run.
     */
    public void setStatus(String runId, String status, long endTime) {
        Service.RunStatus s = Service.RunStatus.valueOf(status);
        call("set status of run " + runId, () -> {
            if (s == Service.RunStatus.RUNNING) {
                client.sendPost("runs/update", JSON.createObjectNode().put("run_id", runId)
                        .put("status", status).toString());
            } else {
                client.setTerminated(runId, s, endTime);
            }
            return null;
        });
    }

    /** Every value of one metric, in the order stored (pages followed). */
    public List<MetricPoint> metricHistory(String runId, String key) {
        List<MetricPoint> out = new ArrayList<>();
        String token = null;
        do {
            String path = "metrics/get-history?run_id=" + encode(runId) + "&metric_key=" + encode(key)
                    + "&max_results=25000" + (token == null ? "" : "&page_token=" + encode(token));
            JsonNode page = json(call("get history of " + key, () -> client.sendGet(path)));
            for (JsonNode m : page.path("metrics")) {
                out.add(new MetricPoint(m.path("key").asText(), number(m.path("value")),
                        m.path("step").asLong(0), m.path("timestamp").asLong(0)));
            }
            token = page.path("next_page_token").asText("");
            token = token.isEmpty() ? null : token;
        } while (token != null);
        return out;
    }

    private static double number(JsonNode v) {
        // Protobuf JSON writes NaN and the infinities as strings.
        return v.isTextual() ? Double.parseDouble(v.asText()) : v.asDouble();
    }

    // ---- artifacts --------------------------------------------------------------------------------

    /** Uploads one file to {@code artifactPath} (a '/'-separated path under the run's artifact root). */
    public void uploadArtifact(String runId, Path file, String artifactPath) {
        URI target = artifactUri(runId, artifactPath);
        HttpRequest.Builder request;
        try {
            request = HttpRequest.newBuilder(target).timeout(timeouts.artifact())
                    .header("Content-Type", "application/octet-stream")
                    .PUT(HttpRequest.BodyPublishers.ofFile(file));
        } catch (IOException e) {
            throw new MlflowCallException(MlflowCallException.Kind.REJECTED, 0, "",
                    "cannot read artifact " + file + ": " + e.getMessage(), e);
        }
        send("upload " + artifactPath, request, HttpResponse.BodyHandlers.discarding());
    }

    /** Files and directories directly under {@code path} ("" for the root). */
    public List<ArtifactFile> listArtifacts(String runId, String path) {
        String query = "artifacts/list?run_id=" + encode(runId) + (path.isEmpty() ? "" : "&path=" + encode(path));
        JsonNode page = json(call("list artifacts of run " + runId, () -> client.sendGet(query)));
        List<ArtifactFile> out = new ArrayList<>();
        for (JsonNode f : page.path("files")) {
            boolean dir = f.path("is_dir").asBoolean(false);
            out.add(new ArtifactFile(f.path("path").asText(), dir, dir ? -1 : f.path("file_size").asLong(0)));
        }
        return out;
    }

    /**
     * Downloads an artifact file or directory (recursively) into {@code dest}: a file lands at
     * {@code dest/<its name>}, a directory's contents at {@code dest/<its name>/...}. Returns the local path.
     */
    public Path downloadArtifacts(String runId, String artifactPath, Path dest) throws IOException {
        String clean = artifactPath.replaceAll("^/+|/+$", "");
        String name = clean.substring(clean.lastIndexOf('/') + 1);
        Path local = dest.resolve(name.isEmpty() ? "artifacts" : name).normalize();
        List<ArtifactFile> children = listArtifacts(runId, clean);
        if (children.isEmpty() && !clean.isEmpty()) {
            downloadFile(runId, clean, local);
            return local;
        }
        Files.createDirectories(local);
        for (ArtifactFile f : children) {
            if (f.isDir()) {
                downloadArtifacts(runId, f.path(), local);
            } else {
                downloadFile(runId, f.path(), local.resolve(f.path().substring(f.path().lastIndexOf('/') + 1)));
            }
        }
        return local;
    }

    private void downloadFile(String runId, String artifactPath, Path local) throws IOException {
        Files.createDirectories(local.getParent());
        Path partial = local.resolveSibling(local.getFileName() + ".part");
        HttpRequest.Builder request = HttpRequest.newBuilder(artifactUri(runId, artifactPath))
                .timeout(timeouts.artifact()).GET();
        send("download " + artifactPath, request, HttpResponse.BodyHandlers.ofFile(partial));
        Files.move(partial, local, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private <T> HttpResponse<T> send(String what, HttpRequest.Builder request, HttpResponse.BodyHandler<T> body) {
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        HttpResponse<T> response;
        try {
            response = artifactHttp.send(request.build(), body);
        } catch (IOException e) {
            throw failure(what, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MlflowCallException(MlflowCallException.Kind.UNCERTAIN, 0, "", what + " interrupted", e);
        }
        int status = response.statusCode();
        if (status / 100 != 2) {
            MlflowCallException.Kind kind = status == 429 || status >= 500
                    ? MlflowCallException.Kind.UNCERTAIN : MlflowCallException.Kind.REJECTED;
            throw new MlflowCallException(kind, status, "", "MLflow at " + uri + ": " + what
                    + " failed with HTTP " + status, null);
        }
        return response;
    }

    /** The mlflow-artifacts URL of a run's artifact, from the run's artifact root. */
    private URI artifactUri(String runId, String artifactPath) {
        String root = artifactRoots.computeIfAbsent(runId, id -> artifactRootOf(getRun(id).artifactUri()));
        StringBuilder url = new StringBuilder(uri.toString().replaceAll("/+$", "")).append(ARTIFACTS_API);
        String full = root + "/" + artifactPath.replaceAll("^/+", "");
        String[] segments = full.split("/+");
        for (int i = 0; i < segments.length; i++) {
            String s = segments[i];
            if (s.equals("..") || s.equals(".")) {
                throw new IllegalArgumentException("artifact path must not contain . or ..: " + artifactPath);
            }
            url.append(i == 0 ? "" : "/").append(encode(s).replace("+", "%20"));
        }
        return URI.create(url.toString());
    }

    /** "mlflow-artifacts:/1/abc/artifacts" (or with a host, or an http proxy URL) to "1/abc/artifacts". */
    static String artifactRootOf(String artifactUri) {
        URI u = URI.create(artifactUri);
        String path = u.getPath() == null ? "" : u.getPath();
        if ("mlflow-artifacts".equals(u.getScheme())) {
            return path.replaceAll("^/+|/+$", "");
        }
        int at = path.indexOf(ARTIFACTS_API);
        if (("http".equals(u.getScheme()) || "https".equals(u.getScheme())) && at >= 0) {
            return path.substring(at + ARTIFACTS_API.length()).replaceAll("/+$", "");
        }
        throw new MlflowCallException(MlflowCallException.Kind.REJECTED, 0, "",
                "the run's artifact root " + artifactUri + " is not served by the tracking server; start it"
                        + " with --artifacts-destination (artifact serving on) and use a new experiment", null);
    }

    // ---- plumbing ---------------------------------------------------------------------------------

    private <T> T call(String what, Supplier<T> body) {
        try {
            return body.get();
        } catch (MlflowHttpException e) {
            int status = e.getStatusCode();
            String code = "";
            String message = e.getBodyMessage();
            try {
                JsonNode err = JSON.readTree(e.getBodyMessage());
                code = err.path("error_code").asText("");
                message = err.path("message").asText(message);
            } catch (IOException | RuntimeException notJson) {
                // keep the raw body
            }
            MlflowCallException.Kind kind = status == 429 || status >= 500
                    ? MlflowCallException.Kind.UNCERTAIN : MlflowCallException.Kind.REJECTED;
            throw new MlflowCallException(kind, status, code,
                    "MLflow at " + uri + ": " + what + " failed (HTTP " + status + "): " + oneLine(message), e);
        } catch (MlflowClientException e) {
            throw failure(what, e.getCause() == null ? e : e.getCause());
        }
    }

    private MlflowCallException failure(String what, Throwable cause) {
        boolean notSent = cause instanceof ConnectException || cause instanceof ConnectTimeoutException
                || cause instanceof HttpConnectTimeoutException || cause instanceof UnknownHostException;
        MlflowCallException.Kind kind = notSent ? MlflowCallException.Kind.UNREACHABLE
                : MlflowCallException.Kind.UNCERTAIN;
        String reason = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        return new MlflowCallException(kind, 0, "", "MLflow at " + uri + ": " + what + " failed: "
                + (notSent ? "server not reachable (" + oneLine(reason) + ")" : oneLine(reason)), cause);
    }

    private static String oneLine(String s) {
        String flat = s == null ? "" : s.replaceAll("\\s+", " ").trim();
        return flat.length() > 300 ? flat.substring(0, 300) + "..." : flat;
    }

    private static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new MlflowCallException(MlflowCallException.Kind.UNCERTAIN, 200, "",
                    "MLflow answered with something that is not JSON: " + oneLine(text), e);
        }
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        client.close();
        try {
            trackingHttp.close();
        } catch (IOException ignored) {
            // nothing left to release
        }
    }
}
