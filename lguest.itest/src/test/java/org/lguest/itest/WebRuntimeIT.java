package org.lguest.itest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The web runtime jar ({@code ./lguest --web}) with real parts: Jetty, the
 * Felix Web Console, our lguest page and /metrics, guests on the real CPU,
 * and the page driven in headless Chromium.
 * The browser stops demo-peer, so it goes last.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WebRuntimeIT {
    private static final Path JAR = Path.of(System.getProperty("lguest.web.jar", "../cnf/target/lguest-web.jar"));
    private static final Path SCREENSHOT = Path.of(System.getProperty("lguest.web.screenshot",
        "target/lguest-page.png"));
    private static final String USER = "operator";
    private static final String PASSWORD = "test-secret";
    private static final long LIMIT_SECONDS = 120;

    private static Process runtime;
    private static Path output;
    private static int port;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void startTheWebRuntime() throws Exception {
        assertTrue(Files.isRegularFile(JAR), JAR + " is missing: build with mvn verify");
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        Path storage = Files.createTempDirectory("lguest-felix");
        Path deploy = Files.createTempDirectory("lguest-deploy");
        Path etc = Files.createTempDirectory("lguest-etc");
        // The console's login comes from configuration, as ./lguest's etc/ gives it.
        Files.writeString(etc.resolve("org.apache.felix.webconsole.internal.servlet.OsgiManager.cfg"),
            "username = " + USER + "\npassword = " + PASSWORD + "\n");
        output = Files.createTempFile("lguest-web", ".txt");
        List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
            "-Dorg.osgi.framework.storage=" + storage, "-Dfelix.fileinstall.dir=" + deploy + "," + etc,
            "-Dgosh.args=--nointeractive", "-Dorg.jline.terminal.dumb=true",
            "-Dorg.osgi.service.http.port=" + port,
            // demo-peer waits for pings on the switch 'demo', with its devices, until stopped.
            "-Dlguest.commands=lguest:launch demo-peer --net demo; sleep 600000",
            "-jar", JAR.toString()));
        runtime = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
        awaitMetrics("image=\"demo-peer\",state=\"RUNNING\"} 1.0");
        // FileInstall hands the console its login on its own thread: wait until the console takes ours.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(LIMIT_SECONDS);
        HttpResponse<String> answer;
        while ((answer = HTTP.send(request("/system/console/lguest").header("Authorization", basic()).build(),
                HttpResponse.BodyHandlers.ofString())).statusCode() != 200) {
            if (!runtime.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("the console never let " + USER + " in (last status " + answer.statusCode()
                    + ": " + answer.body() + "); the runtime printed:\n" + Files.readString(output));
            }
            Thread.sleep(200);
        }
    }

    private static String basic() {
        return "Basic " + Base64.getEncoder().encodeToString((USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8));
    }

    @AfterAll
    static void stopTheWebRuntime() throws Exception {
        if (runtime != null) {
            runtime.destroy();
            if (!runtime.waitFor(30, TimeUnit.SECONDS)) {
                runtime.destroyForcibly();
            }
        }
    }

    @Test
    @Order(1)
    void metricsNeedNoLoginAndTheirCountersMoveWhileAGuestRuns() throws Exception {
        HttpResponse<String> page = HTTP.send(request("/system/console/lguest").build(),
            HttpResponse.BodyHandlers.ofString());
        assertEquals(401, page.statusCode(), "the console must ask for credentials");

        // A guest of 1,000 timer interrupts, launched through the page's own action.
        String launched = post("action=launch&image=timer&memory=16");
        Matcher id = Pattern.compile("guest\\+(\\d+)\\+started").matcher(launched);
        assertTrue(id.find(), "the launch was not confirmed: " + launched);
        String guest = "guest=\"" + id.group(1) + "\",image=\"timer\"";
        // The first scrape that sees it running, then scrapes until the counters have moved past it.
        String first = awaitMetrics(guest + ",state=\"RUNNING\"} 1.0");
        double exits = value(first, "lguest_guest_exits_total{" + guest + "}");
        double cpu = value(first, "lguest_guest_cpu_seconds_total{" + guest + "}");
        // The Host's own counters for it: it halts between timer interrupts, so HALT hypercalls, interrupts
        // delivered and time halted all move while it runs (a series not there yet counts as 0).
        String host = "guest=\"" + id.group(1) + "\"";
        double halts = labelledOrZero(first, "lguest_guest_hypercalls_total", host, "name=\"HALT\"");
        double interrupts = labelledOrZero(first, "lguest_guest_interrupts_delivered_total", host);
        double halted = labelledOrZero(first, "lguest_guest_halted_seconds_total", host);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(LIMIT_SECONDS);
        String moved = metrics();
        while (value(moved, "lguest_guest_exits_total{" + guest + "}") <= exits
                || value(moved, "lguest_guest_cpu_seconds_total{" + guest + "}") <= cpu
                || labelledOrZero(moved, "lguest_guest_hypercalls_total", host, "name=\"HALT\"") <= halts
                || labelledOrZero(moved, "lguest_guest_interrupts_delivered_total", host) <= interrupts
                || labelledOrZero(moved, "lguest_guest_halted_seconds_total", host) <= halted) {
            assertTrue(System.nanoTime() < deadline, "the timer guest's counters never moved:\n" + moved);
            Thread.sleep(100);
            moved = metrics();
        }
        assertTrue(labelled(moved, "lguest_guest_host_exits_total", host, "kind=\"hypercall\"") > 0, moved);
        assertTrue(labelled(moved, "lguest_guest_running_seconds_total", host) > 0, moved);
        assertEquals(1.0, labelled(moved, "lguest_guest_host_counting", host), moved);
        String devices = metrics();
        // demo-peer has printed its line on the virtio console: chains and bytes were counted there.
        assertTrue(value(devices, series(devices, "lguest_device_chains_total", "console")) > 0, devices);
        assertTrue(value(devices, series(devices, "lguest_device_read_bytes_total", "console")) > 0, devices);
        assertTrue(Pattern.compile("lguest_device_attached\\{guest=\"1\",name=\"[^\"]+\",slot=\"\\d+\",type=\"net\"\\} 1.0")
            .matcher(devices).find(), devices);
        assertTrue(Pattern.compile("lguest_device_broken\\{guest=\"1\",name=\"console\",slot=\"\\d+\",type=\"console\"\\} 0.0")
            .matcher(devices).find(), devices);
        // Booting it filled shadow page table entries on demand.
        assertTrue(labelled(devices, "lguest_guest_page_faults_total", "guest=\"1\"", "outcome=\"filled\"") > 0, devices);
        // Its devices broke no rule, and each queue the driver set up shows its size.
        assertEquals(0.0, labelled(devices, "lguest_device_errors_total", "guest=\"1\"", "type=\"console\"",
            "kind=\"chain_loop\""), devices);
        assertTrue(labelled(devices, "lguest_device_queue_size", "guest=\"1\"", "type=\"net\"", "queue=\"0\"") > 0,
            devices);
    }

    /**
     * The page launches as the shell does: demo with a disk and a card, both given in the launch form, on a
     * switch where nobody answers (demo-peer must not be pinged: it ends after one answer). demo reads its disk
     * first (it fails without one), then sends a ping every 200 ms for 5 s: its card's chains and bytes move
     * while it runs.
     */
    @Test
    @Order(2)
    void aGuestLaunchedFromThePageWithADiskAndACardHasThemAndTheirCountersMove() throws Exception {
        Path disk = Files.createTempFile("lguest-web-disk", ".img");
        try {
            Files.write(disk, new byte[1 << 20]);
            String launched = post("action=launch&image=demo&memory=32&disks=" + disk + "&switches=nobody-answers");
            Matcher id = Pattern.compile("guest\\+(\\d+)\\+started").matcher(launched);
            assertTrue(id.find(), "the launch was not confirmed: " + launched);
            String guest = "guest=\"" + id.group(1) + "\"";
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(LIMIT_SECONDS);
            String first = metrics();
            while (labelledOrZero(first, "lguest_device_chains_total", guest, "type=\"net\"") == 0) {
                assertTrue(System.nanoTime() < deadline, "demo's card never took a chain:\n" + first);
                Thread.sleep(50);
                first = metrics();
            }
            assertTrue(labelled(first, "lguest_device_chains_total", guest, "type=\"block\"") > 0, first);
            double chains = labelled(first, "lguest_device_chains_total", guest, "type=\"net\"");
            double bytes = labelled(first, "lguest_device_read_bytes_total", guest, "type=\"net\"");
            String later = metrics();
            while (labelledOrZero(later, "lguest_device_chains_total", guest, "type=\"net\"") <= chains
                    || labelledOrZero(later, "lguest_device_read_bytes_total", guest, "type=\"net\"") <= bytes) {
                assertTrue(System.nanoTime() < deadline, "demo's card never moved:\n" + later);
                Thread.sleep(50);
                later = metrics();
            }
            assertTrue(labelled(later, "lguest_device_busy_seconds_total", guest, "type=\"net\"") > 0, later);
            post("action=stop&id=" + id.group(1));
        } finally {
            Files.deleteIfExists(disk);
        }
        // A launch the shell would refuse is refused here with the shell's words.
        String refused = post("action=launch&image=demo&switches=&disks=" + disk + ".missing");
        assertTrue(java.net.URLDecoder.decode(refused, StandardCharsets.UTF_8).contains("failed:"), refused);
    }

    /** Log in, see demo-peer and its devices on the lguest page, stop it there, see its state change. */
    @Test
    @Order(3)
    void theLguestPageInABrowserStopsAGuest() throws Exception {
        try (Chromium browser = Chromium.start()) {
            browser.login(USER, PASSWORD);
            browser.navigate("http://127.0.0.1:" + port + "/system/console/lguest");
            String guests = "(document.getElementById('lguest-guests') || {innerText: document.title}).innerText";
            String shown = browser.awaitText(guests, "demo-peer");
            assertTrue(shown.contains("RUNNING"), shown);
            for (String device : List.of("lguest.virtio.console", "lguest.virtio.net", "lguest.virtio.rng")) {
                assertTrue(shown.contains(device), "no " + device + " device on the page:\n" + shown);
            }
            // The Host's counters for each guest, and each device's queues.
            assertTrue(shown.contains("interrupts delivered"), shown);
            assertTrue(shown.contains("waiting/in flight/size"), shown);
            browser.screenshot(SCREENSHOT);
            String stopButton = "document.getElementById('lguest-stop-1')";
            assertEquals("clicked", browser.evaluate("(function () { var b = " + stopButton
                + "; if (!b) return 'no button'; b.click(); return 'clicked'; })()"));
            String after = browser.awaitText("(document.getElementById('lguest-guest-1') || {innerText: ''}).innerText",
                "STOPPED");
            assertTrue(after.contains("demo-peer"), after);
            assertTrue(browser.evaluate("(document.getElementById('lguest-message') || {innerText: ''}).innerText")
                .contains("guest 1 stopped"));
        }
    }

    private static HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
    }

    /** POSTs an action to the lguest page as the console's user; answers where it redirects to. */
    private static String post(String form) throws IOException, InterruptedException {
        HttpResponse<String> response = HTTP.send(request("/system/console/lguest")
            .header("Authorization", basic()).header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(302, response.statusCode(), response.body());
        return response.headers().firstValue("Location").orElse("");
    }

    private static String metrics() throws IOException, InterruptedException {
        HttpResponse<String> response = HTTP.send(request("/metrics").build(), HttpResponse.BodyHandlers.ofString());
        return response.statusCode() == 200 ? response.body() : "";
    }

    /** Scrapes until a line contains {@code text}; fails if the runtime ends first. */
    private static String awaitMetrics(String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(LIMIT_SECONDS);
        while (true) {
            String body;
            try {
                body = metrics();
            } catch (IOException e) {
                body = "";
            }
            if (body.contains(text)) {
                return body;
            }
            if (!runtime.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("/metrics never showed '" + text + "'; it showed:\n" + body
                    + "\nthe runtime printed:\n" + Files.readString(output));
            }
            Thread.sleep(200);
        }
    }

    /** The series of demo-peer's (guest 1) device of {@code type} in family {@code name}. */
    private static String series(String metrics, String name, String type) {
        Matcher series = Pattern.compile("(?m)^(" + Pattern.quote(name) + "\\{guest=\"1\",name=\"[^\"]+\",slot=\"\\d+\","
            + "type=\"" + type + "\"\\}) ").matcher(metrics);
        assertTrue(series.find(), "no " + name + " for guest 1's " + type + " in\n" + metrics);
        return series.group(1);
    }

    /** The value of the one series of {@code family} whose labels include every one of {@code labels}. */
    private static double labelled(String metrics, String family, String... labels) {
        List<String> found = new ArrayList<>();
        for (String line : metrics.split("\n")) {
            if (line.startsWith(family + "{") && java.util.Arrays.stream(labels).allMatch(l -> line.contains(l))) {
                found.add(line);
            }
        }
        assertEquals(1, found.size(), "series of " + family + " with " + List.of(labels) + ":\n" + metrics);
        String line = found.get(0);
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
    }

    private static double labelledOrZero(String metrics, String family, String... labels) {
        for (String line : metrics.split("\n")) {
            if (line.startsWith(family + "{") && java.util.Arrays.stream(labels).allMatch(l -> line.contains(l))) {
                return labelled(metrics, family, labels);
            }
        }
        return 0;
    }

    private static double value(String metrics, String series) {
        for (String line : metrics.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).strip());
            }
        }
        throw new AssertionError("no series " + series + " in\n" + metrics);
    }
}
