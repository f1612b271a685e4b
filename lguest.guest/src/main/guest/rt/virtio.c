/*
 * Virtio 1.0 over PCI (virtio 1.0, 4.1), the transport half: the bus scan
 * through the configuration ports, the vendor capabilities, device initialization through the
 * common configuration, split virtqueues and the interrupt handler.
 *
 * Every port or BAR access is an exit to the Launcher: the scan reads each
 * register it needs once, in 32-bit words, and keeps what it found.
 */
#include "virtio.h"

struct virtio_dev virtio_devs[VIRTIO_MAX_DEVICES];
u32 virtio_count;
u32 pci_host_bridge_class = 0xFFFFFFFFu;

/* ------------------------------------------------------------------ PCI */

u32 pci_read32(u32 dev, u32 reg)
{
    /*G:080 The bus scan is port I/O: an address to 0xCF8, the answer from 0xCFC. */
    outl(PCI_CONFIG_ADDRESS, pci_address(dev, reg));
    return inl(PCI_CONFIG_DATA);
}

void pci_write32(u32 dev, u32 reg, u32 value)
{
    outl(PCI_CONFIG_ADDRESS, pci_address(dev, reg));
    outl(PCI_CONFIG_DATA, value);
}

const char *virtio_type_name(u32 type)
{
    static char other[16];
    switch (type) {
    case VIRTIO_ID_NET:
        return "net";
    case VIRTIO_ID_BLOCK:
        return "block";
    case VIRTIO_ID_CONSOLE:
        return "console";
    case VIRTIO_ID_RNG:
        return "rng";
    default:
        format(other, sizeof(other), "type %u", type);
        return other;
    }
}

/* Walks one virtio function's capability list (virtio 1.0, 4.1.4). */
static void walk_capabilities(struct virtio_dev *d)
{
    u32 slot = d->slot;
    int common = 0, notify = 0, isr = 0;
    u32 at = pci_read32(slot, 0x34) & 0xFC;
    for (u32 guard = 0; at != 0 && guard < 48; guard++) {
        if (at < 0x40)
            fail("virtio function at slot %u: capability pointer %#x inside the header", slot, at);
        u32 head = pci_read32(slot, at); /* cap_vndr, cap_next, cap_len, cfg_type */
        u32 next = (head >> 8) & 0xFC;
        if ((head & 0xFF) == VIRTIO_PCI_CAP_VNDR) {
            u32 cfg_type = head >> 24;
            if (cfg_type >= VIRTIO_PCI_CAP_COMMON && cfg_type <= VIRTIO_PCI_CAP_DEVICE) {
                u32 bar = pci_read32(slot, at + 4) & 0xFF;
                u32 offset = pci_read32(slot, at + 8);
                u32 length = pci_read32(slot, at + 12);
                if (bar != 0)
                    fail("virtio function at slot %u: capability %u in BAR%u (only BAR0 is supported)", slot,
                         cfg_type, bar);
                if (offset >= 0x1000000 || length > 0x1000000 - offset)
                    fail("virtio function at slot %u: capability %u at %#x+%#x is past any BAR0 we map", slot,
                         cfg_type, offset, length);
                u32 where = d->bar0 + offset;
                switch (cfg_type) {
                case VIRTIO_PCI_CAP_COMMON:
                    if (!common)
                        d->common = where;
                    common = 1;
                    break;
                case VIRTIO_PCI_CAP_NOTIFY:
                    if (!notify) {
                        d->notify = where;
                        d->notify_multiplier = pci_read32(slot, at + 16);
                    }
                    notify = 1;
                    break;
                case VIRTIO_PCI_CAP_ISR:
                    if (!isr)
                        d->isr = where;
                    isr = 1;
                    break;
                case VIRTIO_PCI_CAP_DEVICE:
                    if (!d->has_device_cfg) {
                        d->device_cfg = where;
                        d->device_cfg_len = length;
                    }
                    d->has_device_cfg = 1;
                    break;
                }
            }
        }
        at = next;
    }
    if (!common || !notify || !isr)
        fail("virtio %s at slot %u: no %s capability", virtio_type_name(d->type), slot,
             !common ? "common configuration" : !notify ? "notification" : "ISR");
}

u32 virtio_scan(void)
{
    virtio_count = 0;
    /* Linux's own check that mechanism #1 is there: the address port keeps
     * what is written to it, and device 0 is a host bridge. Without a bus
     * the ports read all ones, and we can say what is missing. */
    outl(PCI_CONFIG_ADDRESS, pci_address(0, 0));
    u32 latched = inl(PCI_CONFIG_ADDRESS);
    pci_host_bridge_class = pci_read32(0, 0x08) >> 8;
    if (latched != pci_address(0, 0) || pci_host_bridge_class >> 8 != 0x0600)
        fail("no PCI configuration mechanism #1: port 0xCF8 reads %#x, device 0's class %#x", latched,
             pci_host_bridge_class);
    for (u32 slot = 0; slot < PCI_MAX_DEVICES; slot++) {
        u32 id = pci_read32(slot, 0);
        if ((id & 0xFFFF) == 0xFFFF)
            continue;
        u32 device_id = id >> 16;
        if ((id & 0xFFFF) != VIRTIO_PCI_VENDOR || device_id < VIRTIO_PCI_DEVICE_BASE + 1 ||
            device_id > VIRTIO_PCI_DEVICE_BASE + 0x3F)
            continue; /* not a virtio 1.0 (non-transitional) function */
        if (virtio_count == VIRTIO_MAX_DEVICES)
            break;
        struct virtio_dev *d = &virtio_devs[virtio_count];
        memset(d, 0, sizeof(*d));
        d->slot = slot;
        d->type = device_id - VIRTIO_PCI_DEVICE_BASE;
        u32 command_status = pci_read32(slot, 0x04);
        if (!(command_status & (0x10u << 16)))
            fail("virtio %s at slot %u has no capability list (status %#x)", virtio_type_name(d->type), slot,
                 command_status >> 16);
        u32 bar = pci_read32(slot, 0x10);
        if (bar & 1)
            fail("virtio %s at slot %u: BAR0 %#x is an I/O BAR, not memory", virtio_type_name(d->type), slot, bar);
        if (((bar >> 1) & 3) != 0)
            fail("virtio %s at slot %u: BAR0 %#x is not a 32-bit memory BAR", virtio_type_name(d->type), slot, bar);
        d->bar0 = bar & ~0xFu;
        if (d->bar0 == 0)
            fail("virtio %s at slot %u: BAR0 is not assigned", virtio_type_name(d->type), slot);
        d->irq = pci_read32(slot, 0x3C) & 0xFF;
        walk_capabilities(d);
        /* Memory space and bus master on (the bus may ignore it): the command register alone,
         * 16 bits, as Linux writes it; a 32-bit write would reach the read-only status too,
         * which lguest's bus counts a broken driver. */
        outl(PCI_CONFIG_ADDRESS, pci_address(slot, 0x04));
        outw(PCI_CONFIG_DATA, (command_status & 0xFFFF) | 0x6);
        virtio_count++;
    }
    return virtio_count;
}

struct virtio_dev *virtio_find(u32 type, u32 nth)
{
    for (u32 i = 0; i < virtio_count; i++)
        if (virtio_devs[i].type == type && nth-- == 0)
            return &virtio_devs[i];
    return 0;
}

/* -------------------------------------------------------------- devices */

static int virtio_irq(struct trap_frame *frame)
{
    /*G:100
     * A device's interrupt arrives: reading the ISR says why and clears it; the caller waiting on the queue
     * then takes the used chain.
     */
    u32 irq = frame->vector - FIRST_EXTERNAL_VECTOR;
    int handled = 0;
    for (u32 i = 0; i < virtio_count; i++) {
        struct virtio_dev *d = &virtio_devs[i];
        if (!d->started || d->irq != irq)
            continue;
        u8 isr = mmio_read8(d->isr); /* reading clears it */
        d->interrupts++;
        if (isr & VIRTIO_ISR_QUEUE)
            d->isr_queue++;
        if (isr & VIRTIO_ISR_CONFIG)
            d->isr_config++;
        handled = 1;
    }
    return handled;
}

u8 virtio_status(struct virtio_dev *d)
{
    u8 s = mmio_read8(d->common + VIRTIO_COMMON_STATUS);
    if (s & VIRTIO_STATUS_NEEDS_RESET)
        fail("virtio %s at slot %u broke: status %#x (DEVICE_NEEDS_RESET)", virtio_type_name(d->type), d->slot, s);
    return s;
}

u32 virtio_cfg_read32(struct virtio_dev *d, u32 offset)
{
    return mmio_read32(d->device_cfg + offset);
}

u16 virtio_cfg_read16(struct virtio_dev *d, u32 offset)
{
    return mmio_read16(d->device_cfg + offset);
}

u8 virtio_cfg_read8(struct virtio_dev *d, u32 offset)
{
    return mmio_read8(d->device_cfg + offset);
}

static void set_status(struct virtio_dev *d, u8 status)
{
    mmio_write8(d->common + VIRTIO_COMMON_STATUS, status);
}

static void setup_queue(struct virtio_dev *d, u32 index, u32 qsize)
{
    u32 c = d->common;
    const char *name = virtio_type_name(d->type);
    mmio_write16(c + VIRTIO_COMMON_Q_SELECT, (u16)index);
    u32 max = mmio_read16(c + VIRTIO_COMMON_Q_SIZE);
    if (max == 0)
        fail("virtio %s at slot %u: queue %u is not available", name, d->slot, index);
    u32 n = max;
    if (n > qsize)
        n = qsize;
    if (n > VIRTQ_MAX_SIZE)
        n = VIRTQ_MAX_SIZE;
    while (n & (n - 1)) /* a power of 2 */
        n &= n - 1;
    mmio_write16(c + VIRTIO_COMMON_Q_SIZE, (u16)n);

    /* One page: descriptors, the available ring, the used ring (4-aligned). */
    u32 page = page_alloc();
    u32 avail = page + 16 * n;
    u32 used = (avail + 6 + 2 * n + 3) & ~3u;
    struct virtq *q = &d->vq[index];
    memset(q, 0, sizeof(*q));
    q->dev = d;
    q->index = (u16)index;
    q->size = (u16)n;
    q->desc = (volatile struct vring_desc *)page;
    q->avail = (volatile struct vring_avail *)avail;
    q->used = (volatile struct vring_used *)used;
    for (u32 i = 0; i < n; i++)
        q->desc[i].next = (u16)(i + 1);
    q->free_head = 0;
    q->num_free = (u16)n;

    mmio_write32(c + VIRTIO_COMMON_Q_DESCLO, page);
    mmio_write32(c + VIRTIO_COMMON_Q_DESCHI, 0);
    mmio_write32(c + VIRTIO_COMMON_Q_AVAILLO, avail);
    mmio_write32(c + VIRTIO_COMMON_Q_AVAILHI, 0);
    mmio_write32(c + VIRTIO_COMMON_Q_USEDLO, used);
    mmio_write32(c + VIRTIO_COMMON_Q_USEDHI, 0);
    u32 notify_off = mmio_read16(c + VIRTIO_COMMON_Q_NOFF);
    q->notify_address = d->notify + notify_off * d->notify_multiplier;
    mmio_write16(c + VIRTIO_COMMON_Q_ENABLE, 1);
}

void virtio_start(struct virtio_dev *d, u64 wanted, u32 nqueues, u32 qsize)
{
    const char *name = virtio_type_name(d->type);
    u32 c = d->common;
    if (!clock_period_ns)
        clock_start(10000000);
    if (d->irq == 0 || FIRST_EXTERNAL_VECTOR + d->irq >= NR_TRAP_VECTORS)
        fail("virtio %s at slot %u: interrupt line %u is not one we can take (1-%u)", name, d->slot, d->irq,
             NR_TRAP_VECTORS - FIRST_EXTERNAL_VECTOR - 1);
    if (nqueues > VIRTIO_MAX_QUEUES)
        fail("virtio %s: %u queues asked for, the runtime keeps %u", name, nqueues, VIRTIO_MAX_QUEUES);

    /* 3.1.1: reset, ACKNOWLEDGE, DRIVER. */
    d->started = 0;
    set_status(d, 0);
    u8 s = mmio_read8(c + VIRTIO_COMMON_STATUS);
    if (s != 0)
        fail("virtio %s at slot %u: status %#x after a reset, not 0", name, d->slot, s);
    set_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
    set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);

    /* Features: VERSION_1 and whatever of `wanted` is offered. */
    mmio_write32(c + VIRTIO_COMMON_DFSELECT, 0);
    u32 lo = mmio_read32(c + VIRTIO_COMMON_DF);
    mmio_write32(c + VIRTIO_COMMON_DFSELECT, 1);
    u32 hi = mmio_read32(c + VIRTIO_COMMON_DF);
    d->offered = (u64)hi << 32 | lo;
    if (!(d->offered & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
        set_status(d, VIRTIO_STATUS_FAILED);
        fail("virtio %s at slot %u does not offer VERSION_1 (features %#x:%08x)", name, d->slot, hi, lo);
    }
    d->features = d->offered & (wanted | VIRTIO_BIT(VIRTIO_F_VERSION_1));
    mmio_write32(c + VIRTIO_COMMON_GFSELECT, 0);
    mmio_write32(c + VIRTIO_COMMON_GF, (u32)d->features);
    mmio_write32(c + VIRTIO_COMMON_GFSELECT, 1);
    mmio_write32(c + VIRTIO_COMMON_GF, (u32)(d->features >> 32));
    set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    s = mmio_read8(c + VIRTIO_COMMON_STATUS);
    if (!(s & VIRTIO_STATUS_FEATURES_OK)) {
        set_status(d, VIRTIO_STATUS_FAILED);
        fail("virtio %s at slot %u refused features %#x:%08x (status %#x)", name, d->slot,
             (u32)(d->features >> 32), (u32)d->features, s);
    }

    d->num_queues = mmio_read16(c + VIRTIO_COMMON_NUMQ);
    if (d->num_queues < nqueues)
        fail("virtio %s at slot %u has %u queues, not %u", name, d->slot, d->num_queues, nqueues);
    for (u32 i = 0; i < nqueues; i++)
        setup_queue(d, i, qsize);

    /* The interrupt handler before DRIVER_OK: the device may interrupt from then on. */
    d->interrupts = d->isr_queue = d->isr_config = 0;
    d->started = 1;
    set_trap_handler(FIRST_EXTERNAL_VECTOR + d->irq, virtio_irq);
    set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                      VIRTIO_STATUS_DRIVER_OK);
    s = virtio_status(d);
    if (!(s & VIRTIO_STATUS_DRIVER_OK))
        fail("virtio %s at slot %u: DRIVER_OK did not stick (status %#x)", name, d->slot, s);
}

/* --------------------------------------------------------------- queues */

int virtq_add(struct virtq *q, const struct vbuf *bufs, u32 out, u32 in, void *token)
{
    u32 n = out + in;
    if (!token)
        fail("virtq_add without a token");
    if (n == 0 || n > q->num_free)
        return -1;
    u16 head = q->free_head, i = head;
    for (u32 k = 0; k < n; k++) {
        volatile struct vring_desc *e = &q->desc[i];
        e->addr = (u32)bufs[k].addr;
        e->len = bufs[k].len;
        e->flags = (u16)((k >= out ? VRING_DESC_F_WRITE : 0) | (k + 1 < n ? VRING_DESC_F_NEXT : 0));
        if (k + 1 < n)
            i = e->next; /* the free list already links the next one */
        else
            q->free_head = e->next;
    }
    q->num_free = (u16)(q->num_free - n);
    q->token[head] = token;
    q->avail->ring[q->avail_idx & (q->size - 1)] = head;
    barrier(); /* the ring entry and descriptors before the index (x86 keeps stores in order) */
    q->avail_idx++;
    q->avail->idx = q->avail_idx;
    q->chains++;
    return head;
}

void virtq_kick(struct virtq *q)
{
    barrier();
    /*G:090
     * The kick: once the chain is in the available ring, the queue's index is stored to the notify register.
     */
    q->notifies++;
    /* The queue index to the notify register: the Host's eventfd takes it, the Launcher never sees it. */
    mmio_write16(q->notify_address, q->index);
}

int virtq_has_used(struct virtq *q)
{
    return q->used->idx != q->last_used;
}

void *virtq_get(struct virtq *q, u32 *len)
{
    u16 used_idx = q->used->idx;
    if (used_idx == q->last_used)
        return 0;
    barrier(); /* the index before the entry it covers (x86 keeps loads in order) */
    if ((u16)(used_idx - q->last_used) > q->size)
        fail("virtio %s queue %u: used index %u is more than the ring past our %u", virtio_type_name(q->dev->type),
             q->index, used_idx, q->last_used);
    volatile struct vring_used_elem *e = &q->used->ring[q->last_used & (q->size - 1)];
    u32 id = e->id;
    u32 written = e->len;
    if (id >= q->size || !q->token[id])
        fail("virtio %s queue %u: the device returned descriptor %u, which is not a chain of ours",
             virtio_type_name(q->dev->type), q->index, id);
    q->last_used++;
    /* Back onto the free list. */
    u32 i = id, count = 1;
    while (q->desc[i].flags & VRING_DESC_F_NEXT) {
        i = q->desc[i].next;
        if (++count > q->size || i >= q->size)
            fail("virtio %s queue %u: chain %u is broken", virtio_type_name(q->dev->type), q->index, id);
    }
    q->desc[i].next = q->free_head;
    q->free_head = (u16)id;
    q->num_free = (u16)(q->num_free + count);
    void *token = q->token[id];
    q->token[id] = 0;
    if (len)
        *len = written;
    return token;
}

void take_pending_interrupts(void)
{
    /* The Host delivers one interrupt per entry with interrupts on; with
     * more waiting it leaves irq_pending set. SEND_INTERRUPTS once each. */
    for (u32 n = 0; lguest_data.irq_pending && n < LGUEST_IRQS; n++) {
        irq_enable();
        irq_disable();
    }
}

int virtq_wait_until(struct virtq *q, u32 deadline)
{
    irq_disable();
    for (;;) {
        take_pending_interrupts();
        if (virtq_has_used(q))
            return 1;
        if (q->dev->isr_config)
            virtio_status(q->dev); /* fails if the device broke */
        if ((s32)(clock_ticks - deadline) >= 0)
            return virtq_has_used(q);
        wait_for_interrupt();
    }
}

u32 virtq_call(struct virtq *q, const struct vbuf *bufs, u32 out, u32 in, u32 timeout_ticks)
{
    if (virtq_add(q, bufs, out, in, (void *)bufs) < 0)
        fail("virtio %s queue %u: no room for a chain of %u", virtio_type_name(q->dev->type), q->index, out + in);
    virtq_kick(q);
    u32 deadline = clock_ticks + timeout_ticks;
    for (;;) {
        if (!virtq_wait_until(q, deadline))
            fail("virtio %s queue %u: no answer within %u ms (status %#x, %u interrupts)",
                 virtio_type_name(q->dev->type), q->index, timeout_ticks * (clock_period_ns / 1000000),
                 virtio_status(q->dev), q->dev->interrupts);
        u32 len;
        if (virtq_get(q, &len) == (void *)bufs)
            return len;
    }
}
