/*
 * Virtio 1.0 over PCI, from the guest's side: the PCI bus through
 * configuration mechanism #1 (ports 0xCF8/0xCFC), as a Linux 4.x guest uses it,
 * the virtio vendor capabilities, the common configuration, split
 * virtqueues in guest RAM, interrupts through the device's line and ISR,
 * and small drivers for the console, block, network and entropy devices.
 * (rt/pci.c, rt/virtio.c, rt/vdev.c, rt/clock.c; linked from an archive,
 * so only the images that use them carry them.)
 *
 * Every port access or BAR load exits to the Launcher, which for a BAR
 * decodes the instruction: only a plain mov between a register and memory
 * addressed by a register is used (mmio_* below: always "(%edx)" and
 * %eax/%ax/%al). Each access costs a full exit, so the capabilities are
 * read once and the drivers keep their BAR offsets.
 *
 * Waiting: the main flow keeps interrupts disabled and waits the lguest
 * way (wait_for_interrupt(): HALT, the Host wakes it for any interrupt).
 * A device's handler reads its ISR (which clears it); the waiter then looks
 * at the used ring. The clock (a periodic SET_CLOCKEVENT) bounds every
 * wait.
 */
#ifndef LGUEST_GUEST_VIRTIO_H
#define LGUEST_GUEST_VIRTIO_H

#include "rt.h"

/* ---- MMIO: one exit each, in the one instruction form the Launcher decodes ---- */
static inline u32 mmio_read32(u32 addr)
{
    u32 v;
    __asm__ __volatile__("movl (%1), %0" : "=a"(v) : "d"(addr) : "memory");
    return v;
}
static inline u16 mmio_read16(u32 addr)
{
    u16 v;
    __asm__ __volatile__("movw (%1), %0" : "=a"(v) : "d"(addr) : "memory");
    return v;
}
static inline u8 mmio_read8(u32 addr)
{
    u8 v;
    __asm__ __volatile__("movb (%1), %0" : "=a"(v) : "d"(addr) : "memory");
    return v;
}
static inline void mmio_write32(u32 addr, u32 v)
{
    __asm__ __volatile__("movl %0, (%1)" : : "a"(v), "d"(addr) : "memory");
}
static inline void mmio_write16(u32 addr, u16 v)
{
    __asm__ __volatile__("movw %0, (%1)" : : "a"(v), "d"(addr) : "memory");
}
static inline void mmio_write8(u32 addr, u8 v)
{
    __asm__ __volatile__("movb %0, (%1)" : : "a"(v), "d"(addr) : "memory");
}

/* ---- the clock: a periodic tick from SET_CLOCKEVENT (irq 0) ----
 * With interrupts disabled in the main flow, clock_ticks moves only while
 * the image waits (wait_for_interrupt(), virtq_wait_until()): a loop that
 * watches it must wait in between, or it spins forever. */
extern volatile u32 clock_ticks;
extern u32 clock_period_ns; /* 0 while stopped */
/* Needs traps_init(). Re-arms itself from its handler. */
void clock_start(u32 period_ns);
void clock_stop(void);
/* Milliseconds since clock_start (ticks * period). */
u32 clock_ms(void);

/* ---- PCI through configuration mechanism #1 (bus 0, function 0 of each device) ---- */
#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA 0xCFC
#define PCI_MAX_DEVICES 32
static inline void outl(u16 port, u32 v)
{
    __asm__ __volatile__("outl %0, %w1" : : "a"(v), "Nd"(port));
}
static inline void outb(u16 port, u8 v)
{
    __asm__ __volatile__("outb %b0, %w1" : : "a"(v), "Nd"(port));
}
static inline u32 inl(u16 port)
{
    u32 v;
    __asm__ __volatile__("inl %w1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline u8 inb(u16 port)
{
    u8 v;
    __asm__ __volatile__("inb %w1, %b0" : "=a"(v) : "Nd"(port));
    return v;
}
/* The address-port value that selects bus 0, device dev, function 0, the dword holding reg. */
static inline u32 pci_address(u32 dev, u32 reg)
{
    return 0x80000000u | dev << 11 | (reg & 0xFC);
}
u32 pci_read32(u32 dev, u32 reg); /* reg rounded down to 4 */
void pci_write32(u32 dev, u32 reg, u32 value);

/* ---- virtio numbers (virtio 1.0) ---- */
#define VIRTIO_PCI_VENDOR       0x1AF4
#define VIRTIO_PCI_DEVICE_BASE  0x1040
#define VIRTIO_ID_NET           1
#define VIRTIO_ID_BLOCK         2
#define VIRTIO_ID_CONSOLE       3
#define VIRTIO_ID_RNG           4

#define VIRTIO_STATUS_ACKNOWLEDGE   1
#define VIRTIO_STATUS_DRIVER        2
#define VIRTIO_STATUS_DRIVER_OK     4
#define VIRTIO_STATUS_FEATURES_OK   8
#define VIRTIO_STATUS_NEEDS_RESET   0x40
#define VIRTIO_STATUS_FAILED        0x80

#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32
#define VIRTIO_BIT(n)               (1ull << (n))

#define VIRTIO_PCI_CAP_VNDR     0x09
#define VIRTIO_PCI_CAP_COMMON   1
#define VIRTIO_PCI_CAP_NOTIFY   2
#define VIRTIO_PCI_CAP_ISR      3
#define VIRTIO_PCI_CAP_DEVICE   4
#define VIRTIO_PCI_CAP_PCI_CFG  5

/* struct virtio_pci_common_cfg */
#define VIRTIO_COMMON_DFSELECT      0x00
#define VIRTIO_COMMON_DF            0x04
#define VIRTIO_COMMON_GFSELECT      0x08
#define VIRTIO_COMMON_GF            0x0C
#define VIRTIO_COMMON_NUMQ          0x12
#define VIRTIO_COMMON_STATUS        0x14
#define VIRTIO_COMMON_CFGGEN        0x15
#define VIRTIO_COMMON_Q_SELECT      0x16
#define VIRTIO_COMMON_Q_SIZE        0x18
#define VIRTIO_COMMON_Q_ENABLE      0x1C
#define VIRTIO_COMMON_Q_NOFF        0x1E
#define VIRTIO_COMMON_Q_DESCLO      0x20
#define VIRTIO_COMMON_Q_DESCHI      0x24
#define VIRTIO_COMMON_Q_AVAILLO     0x28
#define VIRTIO_COMMON_Q_AVAILHI     0x2C
#define VIRTIO_COMMON_Q_USEDLO      0x30
#define VIRTIO_COMMON_Q_USEDHI      0x34

#define VIRTIO_ISR_QUEUE        1
#define VIRTIO_ISR_CONFIG       2

#define VRING_DESC_F_NEXT       1
#define VRING_DESC_F_WRITE      2

/* Split ring layout (2.4). */
struct vring_desc {
    u64 addr;
    u32 len;
    u16 flags;
    u16 next;
};
struct vring_avail {
    u16 flags;
    u16 idx;
    u16 ring[];
};
struct vring_used_elem {
    u32 id;
    u32 len;
};
struct vring_used {
    u16 flags;
    u16 idx;
    struct vring_used_elem ring[];
};

/* ---- virtio-pci functions and queues ---- */
#define VIRTQ_MAX_SIZE 128  /* so a queue's rings fit one page */
#define VIRTIO_MAX_QUEUES 2
#define VIRTIO_MAX_DEVICES 31

struct virtio_dev;

struct virtq {
    struct virtio_dev *dev;
    u16 index, size;
    volatile struct vring_desc *desc;
    volatile struct vring_avail *avail;
    volatile struct vring_used *used;
    u16 free_head, num_free;
    u16 avail_idx;  /* our copy of avail->idx */
    u16 last_used;  /* the used entries we have taken */
    u32 notify_address;
    u32 chains, notifies;
    void *token[VIRTQ_MAX_SIZE];
};

struct virtio_dev {
    u32 slot;          /* PCI device number on bus 0 */
    u32 type;          /* VIRTIO_ID_* */
    u32 irq;           /* interrupt line (config 0x3C) */
    u32 bar0;          /* memory BAR0, low 4 bits masked */
    u32 common, isr, device_cfg, device_cfg_len, notify; /* absolute addresses in BAR0 */
    u32 notify_multiplier;
    int has_device_cfg;
    u64 offered, features;
    u32 num_queues;    /* the device's count */
    u32 started;
    volatile u32 interrupts, isr_queue, isr_config;
    struct virtq vq[VIRTIO_MAX_QUEUES];
};

/* The functions found on the bus by virtio_scan(), in slot order. */
extern struct virtio_dev virtio_devs[VIRTIO_MAX_DEVICES];
extern u32 virtio_count;
/* Device 0's class, subclass and prog-if (0x060000 for lguest's host bridge), or all ones. */
extern u32 pci_host_bridge_class;

/* Scan bus 0 through the configuration ports and walk each virtio
 * function's capabilities. Fails the image (with a clear reason) when
 * mechanism #1 does not answer or a function's capabilities are unusable. Returns virtio_count. */
u32 virtio_scan(void);
/* The nth (0-based) function of a type, or 0. */
struct virtio_dev *virtio_find(u32 type, u32 nth);
/* "console", "block", "net", "rng", or "type N". */
const char *virtio_type_name(u32 type);

/* Reset, ACKNOWLEDGE, DRIVER, features (VERSION_1 and the offered part of
 * wanted), FEATURES_OK (checked), queues 0..nqueues-1 (at most qsize
 * entries each, rings from page_alloc()), the interrupt handler, DRIVER_OK.
 * Starts the clock (10 ms) if it is not running. Fails the image on any
 * refusal. */
void virtio_start(struct virtio_dev *d, u64 wanted, u32 nqueues, u32 qsize);
/* Device status; fails the image if the device says DEVICE_NEEDS_RESET. */
u8 virtio_status(struct virtio_dev *d);
/* Device-specific configuration (offset into it). */
u32 virtio_cfg_read32(struct virtio_dev *d, u32 offset);
u16 virtio_cfg_read16(struct virtio_dev *d, u32 offset);
u8 virtio_cfg_read8(struct virtio_dev *d, u32 offset);

/* One buffer of a chain. */
struct vbuf {
    const void *addr;
    u32 len;
};
/* Add a chain: out readable buffers then in writable ones. Returns the head
 * or -1 when the ring has too few free descriptors. Nothing is notified. */
int virtq_add(struct virtq *q, const struct vbuf *bufs, u32 out, u32 in, void *token);
/* Tell the device: the queue index, 16 bits, to its notify register. */
void virtq_kick(struct virtq *q);
/* Whether a used entry is waiting. */
int virtq_has_used(struct virtq *q);
/* Take a used entry: its token (and length written), or 0 when none. */
void *virtq_get(struct virtq *q, u32 *len);
/* Wait (HALTing, interrupts disabled) until a used entry is there or the
 * clock reaches deadline (absolute ticks). Returns 1 when one is there. */
int virtq_wait_until(struct virtq *q, u32 deadline);
/* Let in every interrupt the Host holds for us (one SEND_INTERRUPTS per
 * interrupt: the Host delivers one per entry), then disable again. */
void take_pending_interrupts(void);
/* add + kick + wait + get for one chain; fails the image if the device
 * does not answer within timeout_ticks. Returns the length written. */
u32 virtq_call(struct virtq *q, const struct vbuf *bufs, u32 out, u32 in, u32 timeout_ticks);

/* Default time a request may take: 2 s of 10 ms ticks. */
#define VIRTIO_TIMEOUT_TICKS 200

/* ---- console (queue 0 receive, 1 transmit) ---- */
void vcons_init(struct virtio_dev *d);
void vcons_write(const char *s, u32 len);
/* From now on say() and pass() print through the virtio console (fail()
 * keeps the early console). */
void vcons_take_say(void);

/* ---- block ---- */
#define VIRTIO_BLK_F_RO         5
#define VIRTIO_BLK_F_BLK_SIZE   6
#define VIRTIO_BLK_F_FLUSH      9
#define VIRTIO_BLK_T_IN         0
#define VIRTIO_BLK_T_OUT        1
#define VIRTIO_BLK_T_FLUSH      4
#define VIRTIO_BLK_T_GET_ID     8
#define VIRTIO_BLK_S_OK         0
#define VIRTIO_BLK_S_IOERR      1
#define VIRTIO_BLK_S_UNSUPP     2
#define VIRTIO_BLK_ID_BYTES     20
#define SECTOR_SIZE             512
void vblk_init(struct virtio_dev *d);
u64 vblk_capacity(struct virtio_dev *d); /* sectors, read from the configuration */
/* One request: returns the device's status byte (or 0xFF if it wrote none). */
u8 vblk_request(struct virtio_dev *d, u32 type, u64 sector, void *buf, u32 len);

/* ---- network (queue 0 receive, 1 transmit) ---- */
#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_HDR_SIZE     12
#define ETH_ALEN                6
#define ETH_HLEN                14
#define ETH_FRAME_MAX           1514
#define VNET_RX_BUFFERS         8
extern u8 vnet_mac[ETH_ALEN];
extern int vnet_has_mac;
/* Brings the card up, reads its MAC, posts the receive buffers. */
void vnet_init(struct virtio_dev *d);
/* Sends one frame (synchronously: returns when the device took it). */
void vnet_send(const void *frame, u32 len);
/* The next received frame copied into buf (up to max); its length, or -1
 * when none came before deadline (absolute clock ticks). */
int vnet_recv(void *buf, u32 max, u32 deadline);
/* "xx:xx:xx:xx:xx:xx" into out (18 bytes). */
void mac_format(char *out, const u8 *mac);

/* ---- entropy (queue 0) ---- */
void vrng_init(struct virtio_dev *d);
void vrng_read(void *buf, u32 len);

/* ---- helpers ---- */
u32 crc32(const void *buf, u32 len);
/* Hex of len bytes into out (2 * len + 1 bytes). */
void hex_format(char *out, const void *buf, u32 len);

#endif
