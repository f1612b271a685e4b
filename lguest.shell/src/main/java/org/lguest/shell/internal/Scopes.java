package org.lguest.shell.internal;

/**
 * The order Gogo looks a command name up in, for the {@code -c} mode and (in
 * etc/gosh_profile, which must say the same) for the prompt. {@code bundle}
 * comes first so that {@code start}, {@code stop}, {@code update}, {@code
 * install} and {@code uninstall} always mean bundles; {@code gogo} next for
 * the shell's own {@code ls}, {@code cd} and the like. Every other command,
 * ours included, is found through {@code *}: names no earlier scope has, such
 * as {@code launch} or {@code list}, need no scope, but a guest is stopped
 * with {@code lguest:stop} only.
 */
final class Scopes {
    static final String ORDER = "bundle:gogo:*";

    private Scopes() {
    }
}
