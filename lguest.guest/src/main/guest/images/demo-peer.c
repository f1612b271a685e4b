/*
 * demo-peer: the other end of demo's ping. It brings up its own virtio
 * network card (and the virtio console when there is one), waits for a
 * frame of ethertype 0x88B5, sends back "pong: <their payload>" to the
 * sender's MAC, says what it answered and powers off. Frames of other
 * types, and pongs, are not answered.
 */
#include "virtio.h"

IMAGE("demo-peer");

#define TICK_NS 10000000u         /* 10 ms */
#define WAIT_TICKS 3000           /* 30 s for a ping */
#define ETHERTYPE_DEMO 0x88B5

void main(void)
{
    static u8 frame[ETH_FRAME_MAX + 1], answer[ETH_FRAME_MAX];
    char me[18], them[18];

    guest_init();
    traps_init();
    irq_disable();
    clock_start(TICK_NS);

    virtio_scan();
    struct virtio_dev *console = virtio_find(VIRTIO_ID_CONSOLE, 0);
    if (console) {
        vcons_init(console);
        vcons_take_say();
    }
    struct virtio_dev *card = virtio_find(VIRTIO_ID_NET, 0);
    if (!card)
        fail("no virtio-net device");
    vnet_init(card);
    mac_format(me, vnet_mac);
    say("demo-peer: net: mac %s (slot %u, irq %u); waiting for frames of type %#06x", me, card->slot, card->irq,
        ETHERTYPE_DEMO);

    u32 deadline = clock_ticks + WAIT_TICKS;
    u32 ignored = 0;
    for (;;) {
        int len = vnet_recv(frame, ETH_FRAME_MAX, deadline);
        if (len < 0)
            fail("no frame of type %#06x within %u s (%u others ignored)", ETHERTYPE_DEMO, WAIT_TICKS / 100,
                 ignored);
        if (len < ETH_HLEN || ((u32)frame[12] << 8 | frame[13]) != ETHERTYPE_DEMO ||
            (frame[6] & 1) /* a multicast source */ ||
            (len >= ETH_HLEN + 5 && memcmp(frame + ETH_HLEN, "pong:", 5) == 0)) {
            ignored++;
            continue;
        }
        frame[len] = 0;
        char *payload = (char *)frame + ETH_HLEN;
        for (char *c = payload; c < (char *)frame + len; c++)
            if (*c < 0x20 || *c >= 0x7F)
                *c = '?';
        memcpy(answer, frame + ETH_ALEN, ETH_ALEN);
        memcpy(answer + ETH_ALEN, vnet_mac, ETH_ALEN);
        answer[12] = ETHERTYPE_DEMO >> 8;
        answer[13] = ETHERTYPE_DEMO & 0xFF;
        int n = format((char *)answer + ETH_HLEN, ETH_FRAME_MAX - ETH_HLEN, "pong: %s", payload);
        vnet_send(answer, ETH_HLEN + (u32)n);
        mac_format(them, frame + ETH_ALEN);
        say("demo-peer: answered %s: \"%s\"", them, (char *)answer + ETH_HLEN);
        break;
    }
    pass();
}
