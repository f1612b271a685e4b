/*
 * virtio-conf: the bus as a Linux 4.x guest meets it, checked step by step.
 * PCI configuration mechanism #1 through ports 0xCF8/0xCFC (the address
 * port's partial writes, the enable bit, other buses and functions, the
 * end of the emulated space), lguest's host bridge and the console's
 * header at 00:01.0, BAR0's size probe, the capability chain in lguest's
 * order, then the kernel's early console: the emergency-write register
 * reached through the PCI_CFG capability, one character per access, the
 * exact sequence of writes Linux makes. Last, the console's transmit queue
 * notified by a write of its index to the notify register.
 */
#include "virtio.h"

IMAGE("virtio-conf");

#define CONSOLE_SLOT 1
#define CAP_COMMON 0x40
#define CAP_NOTIFY 0x50
#define CAP_ISR 0x64
#define CAP_DEVICE 0x74
#define CAP_PCI_CFG 0x84
#define EMERG_WR 8

static inline u16 inw(u16 port)
{
    u16 v;
    __asm__ __volatile__("inw %w1, %w0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void outw(u16 port, u16 v)
{
    __asm__ __volatile__("outw %w0, %w1" : : "a"(v), "Nd"(port));
}

static void expect(u32 got, u32 want, const char *what)
{
    if (got != want)
        fail("%s: %#x, not %#x", what, got, want);
}

/* The mechanism itself: what the address port keeps and what the data port obeys. */
static void mechanism(void)
{
    outl(PCI_CONFIG_ADDRESS, 0);
    outb(PCI_CONFIG_ADDRESS + 3, 0x80);
    outb(PCI_CONFIG_ADDRESS + 1, CONSOLE_SLOT << 3);
    expect(inl(PCI_CONFIG_ADDRESS), pci_address(CONSOLE_SLOT, 0), "byte writes merged into the address port");
    expect(inl(PCI_CONFIG_DATA), 0x10431AF4, "00:01.0 (the console)");
    expect(inw(PCI_CONFIG_DATA + 2), 0x1043, "the data port's upper half");
    outw(PCI_CONFIG_ADDRESS, (CONSOLE_SLOT << 11) | 0x08);
    expect(inl(PCI_CONFIG_ADDRESS), pci_address(CONSOLE_SLOT, 0x08), "a 16-bit write to the address port");
    expect(inl(PCI_CONFIG_DATA), 0x07000001, "console class 07/00, revision 1");
    outb(PCI_CONFIG_ADDRESS + 3, 0);
    expect(inl(PCI_CONFIG_DATA), 0xFFFFFFFF, "with the enable bit clear");
    outl(PCI_CONFIG_ADDRESS, pci_address(CONSOLE_SLOT, 0) | 1 << 8);
    expect(inl(PCI_CONFIG_DATA), 0xFFFFFFFF, "function 1");
    outl(PCI_CONFIG_ADDRESS, pci_address(CONSOLE_SLOT, 0) | 1 << 16);
    expect(inl(PCI_CONFIG_DATA), 0xFFFFFFFF, "bus 1");
    expect(pci_read32(CONSOLE_SLOT, 0x98), 0xFFFFFFFF, "past the emulated configuration space");
    expect(pci_read32(0, 0x00), 0, "the host bridge's identity");
    expect(pci_read32(0, 0x08), 0x06000000, "the host bridge's class");
    say("virtio-conf: mechanism #1: address port merges 1/2/4-byte writes, enable bit, bus 0 function 0 only");
}

static void header(void)
{
    expect(pci_read32(CONSOLE_SLOT, 0x04) >> 16 & 0x10, 0x10, "status: capability list");
    expect(pci_read32(CONSOLE_SLOT, 0x2C), 0x00400000, "subsystem vendor 0, subsystem 0x40");
    expect(pci_read32(CONSOLE_SLOT, 0x3C) & 0xFFFF, 0x0001, "interrupt line 1, pin 0");
    u32 bar = pci_read32(CONSOLE_SLOT, 0x10);
    if (bar & 0xF)
        fail("BAR0 %#x is not a 32-bit memory BAR", bar);
    if (bar < mem_size + (1u << 20))
        fail("BAR0 %#x is not past RAM's end + 1 MiB (%#x)", bar, mem_size + (1u << 20));
    pci_write32(CONSOLE_SLOT, 0x10, 0xFFFFFFFF);
    u32 mask = pci_read32(CONSOLE_SLOT, 0x10);
    pci_write32(CONSOLE_SLOT, 0x10, bar);
    expect(mask, 0xFFFFFF80, "BAR0 after the all-ones probe (128 bytes)");
    expect(pci_read32(CONSOLE_SLOT, 0x10), bar, "BAR0 written back");
    say("virtio-conf: console at 00:01.0, class 07/00, irq 1, BAR0 %#x of %u bytes", bar, ~mask + 1);
}

/* Walks the chain; returns the device configuration's offset in BAR0. */
static u32 capabilities(void)
{
    static const u32 order[] = {CAP_COMMON, CAP_NOTIFY, CAP_ISR, CAP_PCI_CFG, CAP_DEVICE};
    static const u32 types[] = {1, 2, 3, 5, 4};
    u32 at = pci_read32(CONSOLE_SLOT, 0x34) & 0xFF;
    u32 device_cfg = 0;
    for (u32 i = 0; i < 5; i++) {
        expect(at, order[i], "the next capability");
        u32 head = pci_read32(CONSOLE_SLOT, at);
        expect(head & 0xFF, 0x09, "a vendor capability");
        expect(head >> 24, types[i], "its cfg_type");
        expect(head >> 16 & 0xFF, at == CAP_NOTIFY || at == CAP_PCI_CFG ? 20 : 16, "its length");
        if (at != CAP_PCI_CFG)
            expect(pci_read32(CONSOLE_SLOT, at + 4) & 0xFF, 0, "its BAR");
        u32 offset = pci_read32(CONSOLE_SLOT, at + 8), length = pci_read32(CONSOLE_SLOT, at + 12);
        switch (at) {
        case CAP_COMMON:
            expect(offset << 8 | length, 0 << 8 | 56, "common configuration at 0, 56 bytes");
            break;
        case CAP_NOTIFY:
            expect(offset << 8 | length, 56 << 8 | 2, "notify register at 56, 2 bytes");
            expect(pci_read32(CONSOLE_SLOT, at + 16), 0, "notify_off_multiplier");
            break;
        case CAP_ISR:
            expect(offset << 8 | length, 58 << 8 | 1, "ISR at 58, 1 byte");
            break;
        case CAP_DEVICE:
            expect(offset, 60, "device configuration at 60");
            if (length < EMERG_WR + 4)
                fail("device configuration of %u bytes has no emerg_wr", length);
            device_cfg = offset;
            break;
        }
        at = head >> 8 & 0xFF;
    }
    expect(at, 0, "the end of the chain");
    say("virtio-conf: capabilities 0x40 common, 0x50 notify (56, multiplier 0), 0x64 ISR, 0x84 PCI_CFG, 0x74 device (60)");
    return device_cfg;
}

/* One character the way Linux's early virtio console sends it: bar, length, offset, then the data dword. */
static void emergency_write(u32 device_cfg, const char *s)
{
    for (; *s; s++) {
        outl(PCI_CONFIG_ADDRESS, pci_address(CONSOLE_SLOT, CAP_PCI_CFG + 4));
        outb(PCI_CONFIG_DATA + ((CAP_PCI_CFG + 4) & 3), 0);
        outl(PCI_CONFIG_ADDRESS, pci_address(CONSOLE_SLOT, CAP_PCI_CFG + 12));
        outl(PCI_CONFIG_DATA, 4);
        outl(PCI_CONFIG_ADDRESS, pci_address(CONSOLE_SLOT, CAP_PCI_CFG + 8));
        outl(PCI_CONFIG_DATA, device_cfg + EMERG_WR);
        outl(PCI_CONFIG_ADDRESS, pci_address(CONSOLE_SLOT, CAP_PCI_CFG + 16));
        outl(PCI_CONFIG_DATA, (u8)*s);
    }
}

void main(void)
{
    guest_init();
    traps_init();
    irq_disable();

    mechanism();
    header();
    u32 device_cfg = capabilities();
    emergency_write(device_cfg, "virtio-conf: this line came through PCI_CFG to emerg_wr, one character per access\n");

    virtio_scan();
    struct virtio_dev *console = virtio_find(VIRTIO_ID_CONSOLE, 0);
    if (!console || console->slot != CONSOLE_SLOT)
        fail("the scan did not find the console at slot %u", CONSOLE_SLOT);
    vcons_init(console);
    struct virtq *tx = &console->vq[1];
    expect(tx->notify_address, console->bar0 + 56, "the transmit queue's notify address");
    expect(console->vq[0].notify_address, console->bar0 + 56, "the receive queue's notify address");
    vcons_take_say();
    say("virtio-conf: queue 1 notified by writing 1 to BAR0+56");
    expect(tx->notifies, 1, "notifications so far");
    pass();
}
