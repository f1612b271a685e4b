package org.lguest.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Collection;

import javax.inject.Inject;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.lguest.api.abi.Errno;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.abi.ProtocolWords;
import org.lguest.api.device.LauncherTask;
import org.lguest.api.device.LguestDevice;
import org.lguest.api.device.LguestFile;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/** The device and the shell, as SCR wires them in the real framework. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DeviceServiceIT {

    @Inject
    private BundleContext context;

    @Inject
    private LguestDevice device;

    @Inject
    private ServiceComponentRuntime scr;

    @Inject
    private CommandProcessor commands;

    @Configuration
    public Option[] config() {
        return Container.withBundlesUnderTest();
    }

    @Test
    public void theDeviceIsADeclarativeServicesComponent() {
        ServiceReference<LguestDevice> reference = context.getServiceReference(LguestDevice.class);
        assertNotNull(reference);
        assertEquals("lguest.device", reference.getBundle().getSymbolicName());
        assertNotNull("SCR registered it", reference.getProperty("component.name"));
        Collection<ComponentDescriptionDTO> components = scr.getComponentDescriptionDTOs(reference.getBundle());
        assertTrue(components.stream().anyMatch(c -> c.name.equals(reference.getProperty("component.name"))));
    }

    @Test
    public void irqBeforeInitializeIsEinval() {
        try (Arena arena = Arena.ofConfined(); LguestFile file = device.open(new LauncherTask())) {
            assertEquals(-Errno.EINVAL, file.write(ProtocolWords.encode(arena, Lhreq.IRQ, 3), 0));
        }
    }

    @Test
    public void readBeforeInitializeIsEinval() {
        try (Arena arena = Arena.ofConfined(); LguestFile file = device.open(new LauncherTask())) {
            assertEquals(-Errno.EINVAL, file.read(arena.allocate(Lhreq.WORD), 0));
        }
    }

    @Test
    public void initializeOutsideTheLauncherMemoryIsEfault() {
        try (Arena arena = Arena.ofConfined(); LguestFile file = device.open(new LauncherTask())) {
            MemorySegment request = ProtocolWords.encode(arena, Lhreq.INITIALIZE, 0x1000_0000L, 16, 0x100000);
            assertEquals(-Errno.EFAULT, file.write(request, 0));
        }
    }

    @Test
    public void lguestListIsARegisteredGogoCommand() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
        CommandSession session = commands.createSession(System.in, print, print);
        Object answer = session.execute("lguest:list");
        session.close();
        assertNotNull(answer);
        assertTrue(String.valueOf(answer), String.valueOf(answer).contains("guests running: none"));
    }
}
