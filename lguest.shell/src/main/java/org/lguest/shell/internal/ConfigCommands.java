package org.lguest.shell.internal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;

import org.apache.felix.service.command.Descriptor;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code lguest:config}: our components' configurations (pids under {@value
 * #OURS}) in Configuration Admin, without {@code $.context} calls. A factory
 * configuration is named as Configuration Admin names it, {@code
 * FACTORY~NAME}. Values are kept as text, as the files in etc/ keep them;
 * the components convert them to their types. Changes to a configuration
 * that came from a file in etc/ are written back to that file by FileInstall.
 */
@Component(service = ConfigCommands.class, property = {
    "osgi.command.scope=lguest",
    "osgi.command.function=config"
})
public class ConfigCommands {
    static final String OURS = "org.lguest.";
    /** Any bundle may take the configuration: the component's, not ours. */
    private static final String ANY_LOCATION = "?";
    private static final String FILE = "felix.fileinstall.filename";
    private static final String USAGE = "lguest:config list | get PID | set PID KEY VALUE... | delete PID";

    private final ConfigurationAdmin admin;

    @Activate
    public ConfigCommands(@Reference ConfigurationAdmin admin) {
        this.admin = admin;
    }

    @Descriptor("our configurations: 'list'; 'get PID'; 'set PID KEY VALUE [KEY VALUE]...' (FACTORY~NAME makes or"
        + " changes a factory configuration); 'delete PID' (a configuration from etc/ loses its file too)."
        + " PIDs start with org.lguest.")
    public String config(@Descriptor(USAGE) String[] arguments) throws IOException, InvalidSyntaxException {
        List<String> words = Arrays.asList(arguments);
        String action = words.isEmpty() ? "" : words.get(0);
        return switch (action) {
            case "list" -> {
                expect(words, 1);
                yield list();
            }
            case "get" -> {
                expect(words, 2);
                yield get(ours(words.get(1)));
            }
            case "set" -> {
                if (words.size() < 4 || words.size() % 2 != 0) {
                    throw new IllegalArgumentException("set needs a PID and KEY VALUE pairs: " + USAGE);
                }
                yield set(ours(words.get(1)), words.subList(2, words.size()));
            }
            case "delete" -> {
                expect(words, 2);
                yield delete(ours(words.get(1)));
            }
            default -> throw new IllegalArgumentException("no such action '" + action + "': " + USAGE);
        };
    }

    private static void expect(List<String> words, int count) {
        if (words.size() != count) {
            throw new IllegalArgumentException(words.get(0) + " takes " + (count - 1) + " argument"
                + (count == 2 ? "" : "s") + ": " + USAGE);
        }
    }

    private static String ours(String pid) {
        if (!pid.startsWith(OURS)) {
            throw new IllegalArgumentException(pid + " is not one of ours: lguest:config handles pids starting with " + OURS);
        }
        return pid;
    }

    private String list() throws IOException, InvalidSyntaxException {
        Configuration[] all = admin.listConfigurations("(|(" + Constants.SERVICE_PID + "=" + OURS + "*)("
            + ConfigurationAdmin.SERVICE_FACTORYPID + "=" + OURS + "*))");
        if (all == null) {
            return "no configurations: every component of ours runs on its defaults";
        }
        List<Configuration> sorted = new ArrayList<>(Arrays.asList(all));
        sorted.sort(Comparator.comparing(Configuration::getPid));
        StringBuilder table = new StringBuilder(String.format("%-48s %s%n", "PID", "FROM"));
        for (Configuration configuration : sorted) {
            Object file = configuration.getProperties() == null ? null : configuration.getProperties().get(FILE);
            table.append(String.format("%-48s %s%n", configuration.getPid(), file == null ? "-" : file));
        }
        return table.toString().stripTrailing();
    }

    private String get(String pid) throws IOException, InvalidSyntaxException {
        Configuration configuration = existing(pid);
        if (configuration == null) {
            return "no configuration " + pid + ": its component runs on its defaults (lguest:config set makes one)";
        }
        Dictionary<String, Object> properties = configuration.getProperties();
        List<String> keys = new ArrayList<>(Collections.list(properties.keys()));
        Collections.sort(keys);
        StringBuilder text = new StringBuilder();
        for (String key : keys) {
            Object value = properties.get(key);
            text.append(key).append(" = ")
                .append(value instanceof Object[] array ? String.join(",", Arrays.stream(array).map(String::valueOf).toList())
                    : String.valueOf(value))
                .append('\n');
        }
        return text.toString().stripTrailing();
    }

    private String set(String pid, List<String> pairs) throws IOException, InvalidSyntaxException {
        Configuration configuration = existing(pid);
        if (configuration == null) {
            int tilde = pid.indexOf('~');
            configuration = tilde < 0 ? admin.getConfiguration(pid, ANY_LOCATION)
                : admin.getFactoryConfiguration(pid.substring(0, tilde), pid.substring(tilde + 1), ANY_LOCATION);
        }
        Dictionary<String, Object> properties = configuration.getProperties();
        if (properties == null) {
            properties = new Hashtable<>();
        }
        for (int i = 0; i < pairs.size(); i += 2) {
            properties.put(pairs.get(i), pairs.get(i + 1));
        }
        configuration.update(properties);
        // Configuration Admin keeps it in the framework's storage, which ./lguest makes afresh at each start.
        return pid + " updated" + (properties.get(FILE) == null
            ? " (until the runtime stops: to keep it, write it as a file in etc/, see README)" : "");
    }

    private String delete(String pid) throws IOException, InvalidSyntaxException {
        Configuration configuration = existing(pid);
        if (configuration == null) {
            throw new IllegalArgumentException("no configuration " + pid + ": see lguest:config list");
        }
        configuration.delete();
        return pid + " deleted";
    }

    /** The configuration with this pid, without making one. */
    private Configuration existing(String pid) throws IOException, InvalidSyntaxException {
        String escaped = pid.replaceAll("([\\\\()*])", "\\\\$1");
        Configuration[] found = admin.listConfigurations("(" + Constants.SERVICE_PID + "=" + escaped + ")");
        return found == null ? null : found[0];
    }
}
