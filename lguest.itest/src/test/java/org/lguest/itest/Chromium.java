package org.lguest.itest;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Headless Chromium driven through the Chrome DevTools Protocol: one page,
 * commands sent as JSON over the page's WebSocket with the JDK's client, and
 * their answers matched by id. Only what the web console test needs.
 */
final class Chromium implements AutoCloseable {
    static final Path BINARY = Path.of(System.getProperty("lguest.chromium", "/usr/bin/chromium"));
    private static final long LIMIT_SECONDS = 60;

    private final Process process;
    private final Path profile;
    private final WebSocket socket;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<String>> answers = new ConcurrentHashMap<>();

    private Chromium(Process process, Path profile, WebSocket socket) {
        this.process = process;
        this.profile = profile;
        this.socket = socket;
    }

    static Chromium start() throws IOException, InterruptedException {
        if (!Files.isExecutable(BINARY)) {
            throw new AssertionError(BINARY + " is missing: install Debian's chromium (apt-get install chromium;"
                + " ./test does it), or point -Dlguest.chromium at one");
        }
        Path profile = Files.createTempDirectory("lguest-chromium");
        // The flags keep it off the network (closed here) and away from a sandbox root cannot have.
        Process process = new ProcessBuilder(BINARY.toString(), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--user-data-dir=" + profile, "--remote-debugging-port=0", "--remote-allow-origins=*",
            "--window-size=1280,1400", "about:blank")
            .redirectErrorStream(true).redirectOutput(profile.resolve("chromium.log").toFile()).start();
        Path portFile = profile.resolve("DevToolsActivePort");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(LIMIT_SECONDS);
        while (!Files.isRegularFile(portFile) || Files.readAllLines(portFile).isEmpty()) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new AssertionError("chromium did not open its DevTools port:\n"
                    + Files.readString(profile.resolve("chromium.log")));
            }
            Thread.sleep(100);
        }
        int port = Integer.parseInt(Files.readAllLines(portFile).get(0).strip());
        HttpClient http = HttpClient.newHttpClient();
        String pages = "";
        String url = null;
        while (url == null) {
            pages = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/json/list")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
            Matcher page = Pattern.compile("\"type\"\\s*:\\s*\"page\"[^}]*?\"webSocketDebuggerUrl\"\\s*:\\s*\"([^\"]+)\"")
                .matcher(pages);
            if (page.find()) {
                url = page.group(1);
            } else if (System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new AssertionError("chromium shows no page to drive: " + pages);
            } else {
                Thread.sleep(100);
            }
        }
        Chromium[] self = new Chromium[1];
        StringBuilder partial = new StringBuilder();
        WebSocket socket = http.newWebSocketBuilder().buildAsync(URI.create(url), new WebSocket.Listener() {
            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                partial.append(data);
                if (last) {
                    String message = partial.toString();
                    partial.setLength(0);
                    Matcher id = Pattern.compile("^\\{\"id\":(\\d+),").matcher(message);
                    if (id.find() && self[0] != null) {
                        CompletableFuture<String> answer = self[0].answers.remove(Integer.parseInt(id.group(1)));
                        if (answer != null) {
                            answer.complete(message);
                        }
                    }
                }
                webSocket.request(1);
                return null;
            }
        }).join();
        self[0] = new Chromium(process, profile, socket);
        return self[0];
    }

    /** Sends one command and waits for its answer, the whole JSON message. */
    String call(String method, String params) throws Exception {
        int id = ids.incrementAndGet();
        CompletableFuture<String> answer = new CompletableFuture<>();
        answers.put(id, answer);
        socket.sendText("{\"id\":" + id + ",\"method\":\"" + method + "\",\"params\":" + params + "}", true).join();
        String message = answer.get(LIMIT_SECONDS, TimeUnit.SECONDS);
        if (message.contains("\"error\":")) {
            throw new AssertionError(method + " failed: " + message);
        }
        return message;
    }

    /** Every request the page makes carries this basic-auth login. */
    void login(String user, String password) throws Exception {
        String token = Base64.getEncoder().encodeToString((user + ":" + password).getBytes());
        call("Network.enable", "{}");
        call("Network.setExtraHTTPHeaders", "{\"headers\":{\"Authorization\":\"Basic " + token + "\"}}");
    }

    void navigate(String url) throws Exception {
        call("Page.enable", "{}");
        call("Page.navigate", "{\"url\":" + json(url) + "}");
    }

    /** The value of a JavaScript expression that yields a string. */
    String evaluate(String expression) throws Exception {
        String message = call("Runtime.evaluate", "{\"expression\":" + json(expression) + ",\"returnByValue\":true}");
        Matcher value = Pattern.compile("\"value\":\"((?:[^\"\\\\]++|\\\\.)*+)\"").matcher(message);
        return value.find() ? unjson(value.group(1)) : "";
    }

    /** Waits until the expression yields a string containing {@code text}; answers the last value. */
    String awaitText(String expression, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(LIMIT_SECONDS);
        String value = evaluate(expression);
        while (!value.contains(text)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the page never showed '" + text + "'; it shows:\n" + value);
            }
            Thread.sleep(200);
            value = evaluate(expression);
        }
        return value;
    }

    void screenshot(Path file) throws Exception {
        String message = call("Page.captureScreenshot", "{\"format\":\"png\"}");
        Matcher data = Pattern.compile("\"data\":\"([^\"]+)\"").matcher(message);
        if (!data.find()) {
            throw new AssertionError("no screenshot in " + message);
        }
        Files.createDirectories(file.getParent());
        Files.write(file, Base64.getDecoder().decode(data.group(1)));
    }

    @Override
    public void close() throws IOException {
        socket.abort();
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (Stream<Path> files = Files.walk(profile)) {
            List<Path> all = new ArrayList<>(files.sorted(Comparator.reverseOrder()).toList());
            for (Path path : all) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            // A file chromium still held: the temporary folder stays.
        }
    }

    static String json(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                default -> {
                    if (c < ' ') {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }

    static String unjson(String text) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c != '\\' || i + 1 == text.length()) {
                out.append(c);
                continue;
            }
            char next = text.charAt(++i);
            switch (next) {
                case 'n' -> out.append('\n');
                case 't' -> out.append('\t');
                case 'r' -> out.append('\r');
                case 'u' -> {
                    out.append((char) Integer.parseInt(text.substring(i + 1, i + 5), 16));
                    i += 4;
                }
                default -> out.append(next);
            }
        }
        return out.toString();
    }
}
