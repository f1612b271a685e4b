package org.lguest.webconsole.internal;

import java.io.IOException;

import javax.servlet.Servlet;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

import org.lguest.api.guest.GuestManager;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;

/** Prometheus text format at /metrics on the HTTP service, through the HTTP Whiteboard. */
@Component(service = Servlet.class, property = {
    "osgi.http.whiteboard.servlet.pattern=/metrics",
    "osgi.http.whiteboard.servlet.name=lguest-metrics"
})
public class MetricsServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile GuestManager manager;

    private transient GuestMetrics metrics;

    @Activate
    void activate(BundleContext context) {
        metrics = new GuestMetrics(() -> Snapshot.read(context, manager));
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        response.setContentType(PrometheusTextFormatWriter.CONTENT_TYPE);
        PrometheusTextFormatWriter.create().write(response.getOutputStream(), metrics.scrape());
    }
}
