/*
 * demo: a guest with its own virtio 1.0 PCI drivers (rt/virtio.c,
 * rt/vdev.c). It finds its devices through the configuration ports,
 * greets on the virtio console, reads and writes its disk, takes bytes
 * from the rng, pings a peer over the network card (demo-peer answers),
 * and reports the timer ticks and device interrupts it took on the way.
 * All waiting is by interrupt: HALT until a device's interrupt (its ISR
 * read in the handler) or the 10 ms clock.
 */
#include "virtio.h"

IMAGE("demo");

#define TICK_NS 10000000u          /* 10 ms */
#define PING_EVERY_TICKS 20        /* resend every 200 ms */
#define PING_TIMEOUT_TICKS 500     /* give up after 5 s */
#define ETHERTYPE_DEMO 0x88B5      /* IEEE local experimental */
#define PATTERN_SECTOR 1

static u8 sector[SECTOR_SIZE], readback[SECTOR_SIZE];

static struct virtio_dev *need(u32 type, const char *what)
{
    struct virtio_dev *d = virtio_find(type, 0);
    if (!d)
        fail("no %s device", what);
    return d;
}

static void pattern(u8 *buf)
{
    static const char head[] = "lguest demo: sector 1, written by the guest\n";
    for (u32 i = 0; i < SECTOR_SIZE; i++)
        buf[i] = (u8)(i * 7 + 0x5A);
    memcpy(buf, head, sizeof(head) - 1);
}

static void disk(struct virtio_dev *blk)
{
    vblk_init(blk);
    u64 capacity = vblk_capacity(blk);
    int ro = (blk->features & VIRTIO_BIT(VIRTIO_BLK_F_RO)) != 0;
    int flush = (blk->features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)) != 0;
    if (capacity >> 32)
        say("demo: disk: more than 2^32 sectors, features %#x", (u32)blk->features);
    else
        say("demo: disk: %u sectors (%u KiB)%s%s", (u32)capacity, (u32)(capacity >> 1), ro ? ", read-only" : "",
            flush ? ", flush offered" : ", no flush offered");
    if (capacity < PATTERN_SECTOR + 1)
        fail("the disk has %u sectors; the demo needs %u", (u32)capacity, PATTERN_SECTOR + 1);

    /* Sector 0: its checksum, and its first line when it is text. */
    u8 st = vblk_request(blk, VIRTIO_BLK_T_IN, 0, sector, SECTOR_SIZE);
    if (st != VIRTIO_BLK_S_OK)
        fail("reading sector 0: status %u", st);
    char text[41];
    u32 n = 0;
    while (n < sizeof(text) - 1 && sector[n] >= 0x20 && sector[n] < 0x7F)
        text[n] = (char)sector[n], n++;
    text[n] = 0;
    say("demo: disk: sector 0 crc32 %#010x, begins \"%s\"", crc32(sector, SECTOR_SIZE), text);

    /* Sector 1: the pattern, a flush, and the pattern read back. */
    if (ro) {
        say("demo: disk: read-only, sector %u not written", PATTERN_SECTOR);
    } else {
        pattern(sector);
        st = vblk_request(blk, VIRTIO_BLK_T_OUT, PATTERN_SECTOR, sector, SECTOR_SIZE);
        if (st != VIRTIO_BLK_S_OK)
            fail("writing sector %u: status %u", PATTERN_SECTOR, st);
        const char *flushed = "no flush (VIRTIO_BLK_F_FLUSH not offered)";
        if (flush) {
            st = vblk_request(blk, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
            if (st != VIRTIO_BLK_S_OK)
                fail("flush: status %u", st);
            flushed = "flushed";
        }
        memset(readback, 0xEE, SECTOR_SIZE);
        st = vblk_request(blk, VIRTIO_BLK_T_IN, PATTERN_SECTOR, readback, SECTOR_SIZE);
        if (st != VIRTIO_BLK_S_OK)
            fail("reading sector %u back: status %u", PATTERN_SECTOR, st);
        for (u32 i = 0; i < SECTOR_SIZE; i++)
            if (readback[i] != sector[i])
                fail("sector %u read back differs at byte %u: %#x, not %#x", PATTERN_SECTOR, i, readback[i],
                     sector[i]);
        say("demo: disk: wrote sector %u (crc32 %#010x), %s, read it back: the same", PATTERN_SECTOR,
            crc32(sector, SECTOR_SIZE), flushed);
    }

    /* The device id (there is no feature bit for it: the status says). */
    char id[VIRTIO_BLK_ID_BYTES + 1];
    memset(id, 0, sizeof(id));
    st = vblk_request(blk, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES);
    if (st == VIRTIO_BLK_S_OK) {
        for (u32 i = 0; i < VIRTIO_BLK_ID_BYTES && id[i]; i++)
            if (id[i] < 0x20 || id[i] >= 0x7F)
                id[i] = '?';
        say("demo: disk: device id \"%s\"", id);
    } else if (st == VIRTIO_BLK_S_UNSUPP) {
        say("demo: disk: no device id (GET_ID unsupported)");
    } else {
        fail("GET_ID: status %u", st);
    }
}

static void entropy(struct virtio_dev *rng)
{
    u8 bytes[16];
    char hex[2 * sizeof(bytes) + 1];
    vrng_init(rng);
    vrng_read(bytes, sizeof(bytes));
    hex_format(hex, bytes, sizeof(bytes));
    say("demo: rng: %s", hex);
}

static void network(struct virtio_dev *card)
{
    static u8 frame[ETH_FRAME_MAX], reply[ETH_FRAME_MAX];
    char me[18], from[18];
    vnet_init(card);
    mac_format(me, vnet_mac);
    say("demo: net: mac %s%s, pinging with ethertype %#06x", me, vnet_has_mac ? "" : " (made up: the card has none)",
        ETHERTYPE_DEMO);

    /* Every check against the clock comes first in the loop: when a wait
     * ends, it ended because the clock passed one of these. */
    u32 start = clock_ticks, end = start + PING_TIMEOUT_TICKS, pings = 0, next = start;
    for (;;) {
        if ((s32)(clock_ticks - end) >= 0)
            fail("no reply from a peer within %u s (%u pings sent to ff:ff:ff:ff:ff:ff)", PING_TIMEOUT_TICKS / 100,
                 pings);
        if ((s32)(clock_ticks - next) >= 0) {
            pings++;
            memset(frame, 0xFF, ETH_ALEN);
            memcpy(frame + ETH_ALEN, vnet_mac, ETH_ALEN);
            frame[12] = ETHERTYPE_DEMO >> 8;
            frame[13] = ETHERTYPE_DEMO & 0xFF;
            int n = format((char *)frame + ETH_HLEN, ETH_FRAME_MAX - ETH_HLEN, "ping %u from %s", pings, me);
            vnet_send(frame, ETH_HLEN + (u32)n);
            next = clock_ticks + PING_EVERY_TICKS;
        }
        u32 deadline = (s32)(next - end) < 0 ? next : end;
        int len = vnet_recv(reply, sizeof(reply) - 1, deadline);
        if (len < ETH_HLEN)
            continue; /* time to send again (or a runt) */
        if (((u32)reply[12] << 8 | reply[13]) != ETHERTYPE_DEMO || memcmp(reply, vnet_mac, ETH_ALEN) != 0)
            continue; /* not for us */
        reply[len] = 0;
        char *payload = (char *)reply + ETH_HLEN;
        if (memcmp(payload, "pong: ", 6) != 0)
            continue;
        for (char *c = payload; *c; c++)
            if (*c < 0x20 || *c >= 0x7F)
                *c = '?';
        mac_format(from, reply + ETH_ALEN);
        say("demo: net: reply from %s after %u ping%s: \"%s\"", from, pings, pings == 1 ? "" : "s", payload);
        return;
    }
}

void main(void)
{
    guest_init();
    traps_init();
    irq_disable();
    clock_start(TICK_NS);

    virtio_scan();
    struct virtio_dev *console = need(VIRTIO_ID_CONSOLE, "virtio-console");
    vcons_init(console);
    vcons_take_say();
    say("Hello from the lguest demo guest, on its virtio console");

    say("demo: PCI bus 0: host bridge of class %02x/%02x, %u virtio functions", pci_host_bridge_class >> 16,
        (pci_host_bridge_class >> 8) & 0xFF, virtio_count);
    for (u32 i = 0; i < virtio_count; i++) {
        struct virtio_dev *d = &virtio_devs[i];
        say("demo: slot %u: virtio %s (1af4:%04x), irq %u, BAR0 %#x", d->slot, virtio_type_name(d->type),
            VIRTIO_PCI_DEVICE_BASE + d->type, d->irq, d->bar0);
    }
    struct virtio_dev *blk = need(VIRTIO_ID_BLOCK, "virtio-blk");
    struct virtio_dev *card = need(VIRTIO_ID_NET, "virtio-net");
    struct virtio_dev *rng = need(VIRTIO_ID_RNG, "virtio-rng");

    disk(blk);
    entropy(rng);
    network(card);

    take_pending_interrupts();
    u32 chains = 0;
    for (u32 i = 0; i < virtio_count; i++)
        for (u32 q = 0; q < VIRTIO_MAX_QUEUES; q++)
            chains += virtio_devs[i].vq[q].chains;
    u32 ms = clock_ms(), ticks = clock_ticks;
    u32 irqs[4] = {console->interrupts, blk->interrupts, card->interrupts, rng->interrupts};
    say("demo: summary: %u chains to 4 devices in %u ms, %u timer ticks; interrupts: console %u, disk %u, net %u, "
        "rng %u",
        chains, ms, ticks, irqs[0], irqs[1], irqs[2], irqs[3]);
    if (!irqs[0] || !irqs[1] || !irqs[2] || !irqs[3])
        fail("a device answered without ever interrupting");
    pass();
}
