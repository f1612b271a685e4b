/*
 * pci-conf1: PCI configuration mechanism #1, the ports 0xCF8 (address) and
 * 0xCFC (data) a PC's firmware and Linux's pci=conf1 use. Unicorn runs
 * in/out without trapping, so each access reaches the Launcher's bus from
 * inside the instruction; this image checks that path.
 *
 * 1. The address port reads back what was written, in all three sizes.
 * 2. Bus 0, devices 0-31 (functions 1-7 too where the header says
 *    multi-function): one line per function found with its vendor and
 *    device; the same identity read as a 32-bit, two 16-bit and four 8-bit
 *    accesses must agree.
 * 3. With the enable bit clear the data port reads all ones.
 * 4. Ports no device owns read all ones in every size; writes to them vanish.
 */
#include "rt.h"

IMAGE("pci-conf1");

#define CONF1_ADDRESS 0xCF8
#define CONF1_DATA 0xCFC
#define CONF1_ENABLE 0x80000000u
#define CONF1_DEVICES 32

static inline void outl(u32 value, u32 port)
{
    __asm__ __volatile__("outl %0, %w1" : : "a"(value), "Nd"((u16)port));
}
static inline void outw(u32 value, u32 port)
{
    __asm__ __volatile__("outw %w0, %w1" : : "a"(value), "Nd"((u16)port));
}
static inline void outb(u32 value, u32 port)
{
    __asm__ __volatile__("outb %b0, %w1" : : "a"(value), "Nd"((u16)port));
}
static inline u32 inl(u32 port)
{
    u32 value;
    __asm__ __volatile__("inl %w1, %0" : "=a"(value) : "Nd"((u16)port));
    return value;
}
static inline u32 inw(u32 port)
{
    u16 value;
    __asm__ __volatile__("inw %w1, %w0" : "=a"(value) : "Nd"((u16)port));
    return value;
}
static inline u32 inb(u32 port)
{
    u8 value;
    __asm__ __volatile__("inb %w1, %b0" : "=a"(value) : "Nd"((u16)port));
    return value;
}

static u32 conf1_address(u32 dev, u32 fn, u32 reg)
{
    return CONF1_ENABLE | dev << 11 | fn << 8 | (reg & 0xFC);
}

static u32 conf1_read32(u32 dev, u32 fn, u32 reg)
{
    outl(conf1_address(dev, fn, reg), CONF1_ADDRESS);
    return inl(CONF1_DATA);
}

/* The identity dword again, 16 and 8 bits at a time through the data port's byte lanes. */
static void check_narrow_reads(u32 dev, u32 fn, u32 id)
{
    outl(conf1_address(dev, fn, 0), CONF1_ADDRESS);
    u32 words = inw(CONF1_DATA) | inw(CONF1_DATA + 2) << 16;
    u32 bytes = inb(CONF1_DATA) | inb(CONF1_DATA + 1) << 8 | inb(CONF1_DATA + 2) << 16 | inb(CONF1_DATA + 3) << 24;
    if (words != id || bytes != id)
        fail("00:%02x.%u: identity %#x as a dword, %#x as words, %#x as bytes", dev, fn, id, words, bytes);
}

static void check_address_port(void)
{
    outl(conf1_address(3, 0, 0x10), CONF1_ADDRESS);
    if (inl(CONF1_ADDRESS) != conf1_address(3, 0, 0x10))
        fail("the address port reads %#x after writing %#x", inl(CONF1_ADDRESS), conf1_address(3, 0, 0x10));
    outw(0x2244, CONF1_ADDRESS);
    outb(0x08, CONF1_ADDRESS + 3);
    u32 want = 0x08000000u | (conf1_address(3, 0, 0x10) & 0x00FF0000u) | 0x2244;
    if (inl(CONF1_ADDRESS) != want || inw(CONF1_ADDRESS + 2) != want >> 16 || inb(CONF1_ADDRESS + 1) != 0x22)
        fail("the address port reads %#x after narrow writes, not %#x", inl(CONF1_ADDRESS), want);
}

static void check_absent_ports(void)
{
    static const u32 ports[] = { 0x80, 0x3F8, 0xCF7, 0xD00, 0xC000 };
    for (u32 i = 0; i < ARRAY_SIZE(ports); i++) {
        u32 port = ports[i];
        outl(0x12345678, port);
        outb(0x9A, port);
        if (inb(port) != 0xFF || inw(port) != 0xFFFF || inl(port) != 0xFFFFFFFFu)
            fail("port %#x, which no device owns, reads %#x/%#x/%#x, not all ones", port, inb(port), inw(port),
                 inl(port));
    }
}

void main(void)
{
    guest_init();
    if (boot_problem)
        fail("%s", boot_problem);

    check_address_port();

    u32 found = 0;
    for (u32 dev = 0; dev < CONF1_DEVICES; dev++) {
        u32 functions = 1;
        for (u32 fn = 0; fn < functions; fn++) {
            u32 id = conf1_read32(dev, fn, 0);
            if ((id & 0xFFFF) == 0xFFFF)
                continue;
            if (fn == 0 && (conf1_read32(dev, 0, 0x0C) >> 16 & 0x80))
                functions = 8;
            check_narrow_reads(dev, fn, id);
            say("pci-conf1: 00:%02x.%u vendor %04x device %04x", dev, fn, id & 0xFFFF, id >> 16);
            found++;
        }
    }
    if (found == 0)
        fail("no function answered on bus 0 (not even the host bridge)");

    outl(conf1_address(0, 0, 0) & ~CONF1_ENABLE, CONF1_ADDRESS);
    if (inl(CONF1_DATA) != 0xFFFFFFFFu)
        fail("the data port reads %#x with the enable bit clear", inl(CONF1_DATA));

    check_absent_ports();
    say("pci-conf1: %u functions on bus 0; ports without a device read all ones", found);
    pass();
}
