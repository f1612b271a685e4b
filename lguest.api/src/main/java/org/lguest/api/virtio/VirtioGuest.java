package org.lguest.api.virtio;

import java.io.OutputStream;
import java.util.Objects;
import java.util.concurrent.Flow;

/**
 * What devices may know of the guest they serve.
 *
 * @param id the Launcher's guest number
 * @param name the guest's name (its image's unless it was launched with one), which device configurations select by
 * @param console where the guest's console output goes
 * @param consoleInput bytes typed at the guest's console; a publisher that never
 *        publishes when there is no input
 */
public record VirtioGuest(int id, String name, OutputStream console, Flow.Publisher<byte[]> consoleInput) {

    public VirtioGuest {
        Objects.requireNonNull(name, "name");
        console = console == null ? OutputStream.nullOutputStream() : console;
        consoleInput = consoleInput == null ? subscriber -> subscriber.onSubscribe(new Flow.Subscription() {
            @Override
            public void request(long n) {
            }

            @Override
            public void cancel() {
            }
        }) : consoleInput;
    }

    /** A guest with an output console and no input. */
    public static VirtioGuest of(int id, String name, OutputStream console) {
        return new VirtioGuest(id, name, console, null);
    }
}
