package org.lguest.webconsole.internal;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

import javax.servlet.Servlet;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

import org.lguest.api.abi.Lhcall;
import org.lguest.api.device.GuestCounters;
import org.lguest.api.guest.Guest;
import org.lguest.api.guest.GuestManager;
import org.lguest.api.guest.LaunchCommand;
import org.lguest.api.guest.LaunchException;
import org.lguest.api.guest.LaunchOptions;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioBus;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/**
 * The Web Console's lguest page, a plain servlet the console finds by its
 * {@code felix.webconsole.label} and draws inside its own frame. GET of the
 * page is the whole view; GET of {@code lguest/guests.part} is the guests'
 * part alone, which the page's script fetches again every two seconds; POST
 * carries the actions (stop, irq, launch) and answers with a redirect back.
 */
@Component(service = Servlet.class, property = {
    "felix.webconsole.label=" + LguestPage.LABEL,
    "felix.webconsole.title=lguest",
    "felix.webconsole.category=lguest"
})
public class LguestPage extends HttpServlet {
    static final String LABEL = "lguest";
    static final String PART = "/guests.part";
    private static final long serialVersionUID = 1L;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile GuestManager manager;

    /** The shell's launch (disks and network cards included); the page launches only through it. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile LaunchCommand launchCommand;

    private transient BundleContext context;

    @Activate
    void activate(BundleContext context) {
        this.context = context;
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        try {
            render(request, response);
        } catch (RuntimeException | LinkageError e) {
            // The console answers 500 without a word; the log says why.
            System.getLogger(LguestPage.class.getName()).log(System.Logger.Level.WARNING,
                "the lguest page failed for " + request.getRequestURI(), e);
            throw e;
        }
    }

    private void render(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String path = request.getPathInfo() == null ? "" : request.getPathInfo();
        response.setCharacterEncoding("UTF-8");
        if (path.endsWith(PART)) {
            response.setContentType("text/html");
            response.setHeader("Cache-Control", "no-store");
            response.getWriter().write(Html.guests(Snapshot.read(context, manager)));
            return;
        }
        GuestManager current = manager;
        List<String> images = current == null ? List.of() : current.images();
        PrintWriter out = response.getWriter();
        out.write(Html.page(Snapshot.read(context, manager), images, request.getParameter("message")));
    }

    @Override
    protected void doPost(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String message;
        try {
            message = act(request);
        } catch (LaunchException | IllegalArgumentException e) {
            message = "failed: " + e.getMessage();
        }
        response.sendRedirect(LABEL + "?message=" + URLEncoder.encode(message, StandardCharsets.UTF_8));
    }

    private String act(HttpServletRequest request) throws LaunchException {
        GuestManager current = manager;
        if (current == null) {
            throw new LaunchException("no Launcher is running: is the lguest.launcher bundle active? (see Bundles)");
        }
        String action = String.valueOf(request.getParameter("action"));
        switch (action) {
            case "stop" -> {
                Guest guest = guest(current, request);
                guest.stop();
                return "guest " + guest.id() + " stopped";
            }
            case "irq" -> {
                Guest guest = guest(current, request);
                int irq = number(request, "irq");
                guest.interrupt(irq);
                return "irq " + irq + " sent to guest " + guest.id();
            }
            case "launch" -> {
                LaunchCommand command = launchCommand;
                if (command == null) {
                    throw new LaunchException("no launch service: is the lguest.shell bundle active? (see Bundles)");
                }
                Guest guest = command.launch(launchWords(request), OutputStream.nullOutputStream());
                return "guest " + guest.id() + " started: " + guest.image();
            }
            default -> throw new IllegalArgumentException("unknown action '" + action + "': use stop, irq or launch");
        }
    }

    /**
     * The launch form as lguest:launch's words: the image, --memory, --append (one word, spaces kept), a
     * --disk for each word of the disks field (FILE or FILE:ro) and a --net for each word of the switches
     * field. The shell's parser checks them, so the page and the shell accept the same launches.
     */
    static List<String> launchWords(HttpServletRequest request) {
        List<String> words = new ArrayList<>();
        words.add(String.valueOf(request.getParameter("image")).strip());
        String memory = request.getParameter("memory");
        if (memory != null && !memory.isBlank()) {
            words.add("--memory");
            words.add(memory.strip());
        }
        String append = request.getParameter("append");
        if (append != null && !append.isBlank()) {
            words.add("--append");
            words.add(append.strip());
        }
        eachWord(request.getParameter("disks"), "--disk", words);
        eachWord(request.getParameter("switches"), "--net", words);
        return words;
    }

    private static void eachWord(String field, String option, List<String> words) {
        if (field == null) {
            return;
        }
        for (String word : field.strip().split("\\s+")) {
            if (!word.isEmpty()) {
                words.add(option);
                words.add(word);
            }
        }
    }

    private static Guest guest(GuestManager manager, HttpServletRequest request) throws LaunchException {
        int id = number(request, "id");
        return manager.guest(id).orElseThrow(() -> new LaunchException("no guest " + id + ": it has been removed"));
    }

    private static int number(HttpServletRequest request, String name) {
        String value = request.getParameter(name);
        try {
            return Integer.parseInt(String.valueOf(value).strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a number, not '" + value + "'");
        }
    }

    /** The page's HTML, server-rendered; the script only swaps in a fresh guests part. */
    static final class Html {
        private Html() {
        }

        static String page(Snapshot snapshot, List<String> images, String message) {
            StringBuilder html = new StringBuilder();
            if (message != null && !message.isBlank()) {
                html.append("<p id='lguest-message' class='statline'>").append(escape(message)).append("</p>\n");
            }
            html.append("<h2>Launch a guest</h2>\n<form method='post' action='").append(LABEL)
                .append("' id='lguest-launch'><input type='hidden' name='action' value='launch'>")
                .append("image <input name='image' list='lguest-images' required> memory MiB <input name='memory'"
                    + " size='5' value='").append(LaunchOptions.DEFAULT_MEMORY_MIB)
                .append("'> command line <input name='append' size='30'> disks <input name='disks' size='20'"
                    + " placeholder='FILE or FILE:ro, space between'> switches <input name='switches' size='10'"
                    + " placeholder='NAME ...'> <button type='submit'>launch</button>")
                .append("<datalist id='lguest-images'>");
            for (String image : images) {
                html.append("<option value='").append(escape(image)).append("'>");
            }
            html.append("</datalist></form>\n<h2>Guests</h2>\n<div id='lguest-guests'>").append(guests(snapshot))
                .append("</div>\n<script>\n(function () {\n  var part = document.getElementById('lguest-guests');\n"
                    + "  setInterval(function () {\n    fetch('" + LABEL + PART + "', {credentials: 'same-origin'})\n"
                    + "      .then(function (r) { return r.ok ? r.text() : null; })\n"
                    + "      .then(function (t) { if (t !== null) part.innerHTML = t; });\n  }, 2000);\n})();\n"
                    + "</script>\n");
            return html.toString();
        }

        static String guests(Snapshot snapshot) {
            if (snapshot.guests().isEmpty()) {
                return "<p>No guests.</p>";
            }
            StringBuilder html = new StringBuilder("<table class='tablelayout' id='lguest-guest-table'><thead><tr>"
                + "<th>id</th><th>image</th><th>state</th><th>CPU ms</th><th>exits</th><th>exits by kind</th>"
                + "<th>memory MiB</th>"
                + "<th>actions</th></tr></thead><tbody>\n");
            for (Snapshot.GuestRow row : snapshot.guests()) {
                Guest guest = row.guest();
                boolean running = guest.state() == Guest.State.RUNNING;
                html.append("<tr id='lguest-guest-").append(guest.id()).append("'><td>").append(guest.id())
                    .append("</td><td>").append(escape(guest.image())).append("</td><td class='lguest-state'>")
                    .append(guest.state()).append("</td><td>").append(guest.cpuTime().toMillis()).append("</td><td>")
                    .append(guest.exits()).append("</td><td>");
                guest.exitsByKind().forEach((kind, n) -> html.append(escape(kind)).append(": ").append(n).append(' '));
                html.append("</td><td>").append(guest.memoryBytes() >> 20).append("</td><td>");
                if (running) {
                    html.append("<form method='post' action='").append(LABEL).append("' style='display:inline'>")
                        .append("<input type='hidden' name='action' value='stop'><input type='hidden' name='id' value='")
                        .append(guest.id()).append("'><button type='submit' id='lguest-stop-").append(guest.id())
                        .append("'>stop</button></form> <form method='post' action='").append(LABEL)
                        .append("' style='display:inline'><input type='hidden' name='action' value='irq'>")
                        .append("<input type='hidden' name='id' value='").append(guest.id())
                        .append("'>irq <input name='irq' size='2' value='0'><button type='submit'>raise</button></form>");
                } else {
                    html.append(running ? "" : "-");
                }
                html.append("</td></tr>\n");
            }
            html.append("</tbody></table>\n");
            for (Snapshot.GuestRow row : snapshot.guests()) {
                Guest guest = row.guest();
                html.append("<h3>guest ").append(guest.id()).append(": ").append(escape(guest.image())).append("</h3>\n");
                hostCounters(html, guest.id(), row.host());
                if (row.slots().isEmpty()) {
                    html.append("<p>No virtio devices (or the guest is no longer running).</p>\n");
                } else {
                    html.append("<table class='tablelayout lguest-devices'><thead><tr><th>slot</th><th>type</th>"
                        + "<th>name</th><th>bundle</th><th>irq</th><th>attached</th><th>status</th><th>broken</th>"
                        + "<th>notifications</th><th>chains</th><th>bytes in</th><th>bytes out</th><th>busy ms</th>"
                        + "<th>errors</th><th>queues (waiting/in flight/size)</th></tr></thead><tbody>\n");
                    for (VirtioBus.Slot slot : row.slots()) {
                        html.append("<tr><td>").append(slot.slot()).append("</td><td>")
                            .append(escape(Virtio.typeName(slot.type()))).append("</td><td>").append(escape(slot.name()))
                            .append("</td><td>").append(escape(row.bundleOf(slot))).append("</td><td>").append(slot.irq())
                            .append("</td><td>").append(slot.attached() ? "yes" : "no").append("</td><td>")
                            .append(String.format("0x%02x", slot.status())).append("</td><td>")
                            .append(slot.broken() == null ? "-" : escape(slot.broken())).append("</td>");
                        VirtioBus.Counters c = row.countersOf(slot);
                        if (c == null) {
                            html.append("<td>-</td><td>-</td><td>-</td><td>-</td><td>-</td>");
                        } else {
                            html.append("<td>").append(c.notifications()).append("</td><td>").append(c.chains())
                                .append("</td><td>").append(c.bytesRead()).append("</td><td>").append(c.bytesWritten())
                                .append("</td><td>").append(c.busyNanos() / 1_000_000).append("</td>");
                        }
                        html.append("<td class='lguest-errors'>");
                        row.faultsOf(slot).forEach((kind, n) ->
                            html.append(escape(GuestMetrics.kindLabel(kind))).append(": ").append(n).append(' '));
                        html.append("</td><td class='lguest-queues'>");
                        for (VirtioBus.QueueDepth q : row.queuesOf(slot)) {
                            html.append('q').append(q.queue()).append(' ').append(q.waiting()).append('/')
                                .append(q.inFlight()).append('/').append(q.size()).append(' ');
                        }
                        html.append("</td></tr>\n");
                    }
                    html.append("</tbody></table>\n");
                }
                List<String> tail = guest.consoleTail();
                html.append("<pre class='lguest-console'>");
                for (String line : tail.subList(Math.max(0, tail.size() - 10), tail.size())) {
                    html.append(escape(line)).append('\n');
                }
                html.append("</pre>\n");
            }
            return html.toString();
        }

        /** One line of what the Host counted for the guest (Guest.hostCounters()). */
        private static void hostCounters(StringBuilder html, int id, GuestCounters host) {
            html.append("<p class='lguest-host' id='lguest-host-").append(id).append("'>");
            if (!host.counting()) {
                html.append("The Host keeps no counters for this guest.</p>\n");
                return;
            }
            html.append("Host: running ").append(host.runningNanos() / 1_000_000).append(" ms, halted ")
                .append(host.haltedNanos() / 1_000_000).append(" ms; interrupts delivered ")
                .append(host.interruptsDelivered()).append("; page faults filled ").append(host.faultsFilled())
                .append(", reflected ").append(host.faultsReflected()).append("; exits");
            new TreeMap<>(host.exits()).forEach((kind, n) -> html.append(' ').append(escape(kind)).append(": ").append(n));
            html.append("; hypercalls");
            new TreeMap<>(host.hypercalls()).forEach((call, n) -> html.append(' ')
                .append(escape(java.util.Objects.requireNonNullElse(Lhcall.name(call), "#" + call))).append(": ").append(n));
            html.append("</p>\n");
        }

        static String escape(String text) {
            StringBuilder out = new StringBuilder(text.length());
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                switch (c) {
                    case '<' -> out.append("&lt;");
                    case '>' -> out.append("&gt;");
                    case '&' -> out.append("&amp;");
                    case '\'' -> out.append("&#39;");
                    case '"' -> out.append("&quot;");
                    default -> out.append(c);
                }
            }
            return out.toString();
        }
    }
}
