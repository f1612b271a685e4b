package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.lguest.api.abi.Errno;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.device.Eventfd;

/** LHREQ_EVENTFD: attach_eventfd(), add_eventfd() and send_notify_to_eventfd(). */
@Timeout(10)
class EventfdTest {
    private final Rig rig = new Rig();
    private final Eventfd eventfd = new Eventfd();
    private int fd;

    @AfterEach
    void close() {
        rig.close();
        eventfd.close();
    }

    private void initAndInstall() {
        assertEquals(24, rig.init());
        fd = rig.task.descriptors().install(eventfd);
    }

    @Test
    void missingArgumentsAreEfault() {
        initAndInstall();
        assertEquals(-Errno.EFAULT, rig.write(Lhreq.EVENTFD));
        assertEquals(-Errno.EFAULT, rig.write(Lhreq.EVENTFD, 0x100));
        assertEquals(0, rig.guest().eventfds.size());
    }

    @Test
    void addressZeroIsEinval() {
        initAndInstall();
        assertEquals(-Errno.EINVAL, rig.write(Lhreq.EVENTFD, 0, fd));
        // Refused before the descriptor is even looked at.
        assertEquals(-Errno.EINVAL, rig.write(Lhreq.EVENTFD, 0, 999));
        assertEquals(0, rig.guest().eventfds.size());
    }

    @Test
    void aDescriptorThatIsNotOpenIsEbadf() {
        initAndInstall();
        assertEquals(-Errno.EBADF, rig.write(Lhreq.EVENTFD, 0x100, fd + 1));
        assertEquals(-Errno.EBADF, rig.write(Lhreq.EVENTFD, 0x100, -1));
        assertEquals(-Errno.EBADF, rig.write(Lhreq.EVENTFD, 0x100, 1L << 40));
        rig.task.descriptors().close(fd);
        assertEquals(-Errno.EBADF, rig.write(Lhreq.EVENTFD, 0x100, fd));
        assertEquals(0, rig.guest().eventfds.size());
    }

    @Test
    void anOpenDescriptorThatIsNotAnEventfdIsEinval() {
        initAndInstall();
        int other = rig.task.descriptors().install("not an eventfd");
        assertEquals(-Errno.EINVAL, rig.write(Lhreq.EVENTFD, 0x100, other));
        assertEquals(0, rig.guest().eventfds.size());
    }

    @Test
    void noMemoryForTheLargerMapIsEnomemAndKeepsTheOldMap() {
        initAndInstall();
        assertEquals(0, rig.write(Lhreq.EVENTFD, 0x100, fd));
        EventfdMap before = rig.guest().eventfds;
        rig.allocator.failAt = Allocator.Step.EVENTFD_ENTRY;
        assertEquals(-Errno.ENOMEM, rig.write(Lhreq.EVENTFD, 0x200, fd));
        // Even for a descriptor that would be refused: the allocation comes first.
        assertEquals(-Errno.ENOMEM, rig.write(Lhreq.EVENTFD, 0x200, 999));
        assertSame(before, rig.guest().eventfds);
        assertEquals(1, before.size());
    }

    @Test
    void attachingPublishesANewLargerCopy() {
        initAndInstall();
        EventfdMap empty = rig.guest().eventfds;
        assertEquals(0, rig.write(Lhreq.EVENTFD, 0x100, fd));
        EventfdMap one = rig.guest().eventfds;
        assertNotSame(empty, one);
        assertEquals(0, empty.size(), "a reader holding the old map sees it unchanged");
        assertEquals(1, one.size());
        assertEquals(0x100, one.addr(0));
        assertSame(eventfd, one.event(0));
        Eventfd second = new Eventfd();
        int fd2 = rig.task.descriptors().install(second);
        assertEquals(0, rig.write(Lhreq.EVENTFD, 0x200, fd2));
        EventfdMap two = rig.guest().eventfds;
        assertEquals(1, one.size());
        assertEquals(2, two.size());
        assertSame(eventfd, two.lookup(0x100));
        assertSame(second, two.lookup(0x200));
    }

    @Test
    void aNotificationWithAnEventfdSignalsItAndTheGuestRunsOn() throws Exception {
        rig.boot();
        fd = rig.task.descriptors().install(eventfd);
        assertEquals(0, rig.write(Lhreq.EVENTFD, 0x5000, fd));
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 0x5000), Rig.hcall(Lhcall.NOTIFY, 0x5000),
            Rig.hcall(Lhcall.NOTIFY, 0x6000));
        Rig.Read r = rig.read();
        assertEquals(8, r.n());
        assertEquals(0x6000, r.word(), "only the notification no eventfd takes comes back");
        assertEquals(2, eventfd.read(1, TimeUnit.SECONDS));
        assertFalse(eventfd.isClosed());
    }

    @Test
    void theAttachmentOutlivesTheDescriptor() throws Exception {
        rig.boot();
        fd = rig.task.descriptors().install(eventfd);
        assertEquals(0, rig.write(Lhreq.EVENTFD, 0x5000, fd));
        rig.task.descriptors().close(fd);
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 0x5000), Rig.hcall(Lhcall.NOTIFY, 0x6000));
        assertEquals(0x6000, rig.read().word());
        assertEquals(1, eventfd.read(1, TimeUnit.SECONDS));
    }

    @Test
    void theFirstEventfdForAnAddressTakesIt() throws Exception {
        rig.boot();
        fd = rig.task.descriptors().install(eventfd);
        Eventfd second = new Eventfd();
        int fd2 = rig.task.descriptors().install(second);
        assertEquals(0, rig.write(Lhreq.EVENTFD, 0x5000, fd));
        assertEquals(0, rig.write(Lhreq.EVENTFD, 0x5000, fd2));
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 0x5000), Rig.hcall(Lhcall.NOTIFY, 0x6000));
        assertEquals(0x6000, rig.read().word());
        assertEquals(1, eventfd.read(1, TimeUnit.SECONDS));
        assertEquals(0, second.read(10, TimeUnit.MILLISECONDS));
    }

    @Test
    void sendNotifyToEventfdClearsOnlyOnAMatch() {
        initAndInstall();
        assertEquals(0, rig.write(Lhreq.EVENTFD, 0x100, fd));
        Cpu cpu = rig.cpu();
        cpu.pendingNotify = 0x200;
        assertFalse(Core.sendNotifyToEventfd(cpu));
        assertEquals(0x200, cpu.pendingNotify);
        cpu.pendingNotify = 0x100;
        assertEquals(true, Core.sendNotifyToEventfd(cpu));
        assertEquals(0, cpu.pendingNotify);
    }
}
