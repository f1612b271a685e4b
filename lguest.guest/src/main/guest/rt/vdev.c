/*
 * Small virtio drivers on top of rt/virtio.c: console, block, network,
 * entropy (virtio 1.0, 5.1-5.4). One device of each kind; every request
 * is synchronous (submitted, notified, waited for by interrupt), except
 * the network card's receive buffers, which stay posted.
 */
#include "virtio.h"

/* -------------------------------------------------------------- console */

static struct virtio_dev *cons;

void vcons_init(struct virtio_dev *d)
{
    virtio_start(d, 0, 2, 16);
    cons = d;
}

void vcons_write(const char *s, u32 len)
{
    if (!cons)
        fail("vcons_write before vcons_init");
    if (len == 0)
        return;
    struct vbuf b = {s, len};
    virtq_call(&cons->vq[1], &b, 1, 0, VIRTIO_TIMEOUT_TICKS);
}

void vcons_take_say(void)
{
    say_hook = vcons_write;
}

/* ---------------------------------------------------------------- block */

struct virtio_blk_req {
    u32 type;
    u32 reserved;
    u64 sector;
};

void vblk_init(struct virtio_dev *d)
{
    if (d->device_cfg_len < 8)
        fail("virtio block at slot %u: %u bytes of configuration, no capacity", d->slot, d->device_cfg_len);
    virtio_start(d, VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_BLK_F_RO), 1, 16);
}

u64 vblk_capacity(struct virtio_dev *d)
{
    u32 lo = virtio_cfg_read32(d, 0);
    u32 hi = virtio_cfg_read32(d, 4);
    return (u64)hi << 32 | lo;
}

u8 vblk_request(struct virtio_dev *d, u32 type, u64 sector, void *buf, u32 len)
{
    struct virtio_blk_req req = {type, 0, sector};
    volatile u8 status = 0xFF;
    struct vbuf b[3];
    u32 out = 1, in = 0;
    b[0].addr = &req;
    b[0].len = sizeof(req);
    if (len) {
        b[1].addr = buf;
        b[1].len = len;
        if (type == VIRTIO_BLK_T_OUT)
            out++;
        else
            in++;
    }
    b[out + in].addr = (const void *)&status;
    b[out + in].len = 1;
    in++;
    virtq_call(&d->vq[0], b, out, in, VIRTIO_TIMEOUT_TICKS);
    return status;
}

/* -------------------------------------------------------------- network */

#define VNET_RX_BUF_SIZE 2048

static struct virtio_dev *net;
u8 vnet_mac[ETH_ALEN];
int vnet_has_mac;
static u8 vnet_tx[VIRTIO_NET_HDR_SIZE + ETH_FRAME_MAX];

static void vnet_post(u8 *buf)
{
    struct vbuf b = {buf, VNET_RX_BUF_SIZE};
    if (virtq_add(&net->vq[0], &b, 0, 1, buf) < 0)
        fail("virtio net: no room for a receive buffer");
}

void vnet_init(struct virtio_dev *d)
{
    virtio_start(d, VIRTIO_BIT(VIRTIO_NET_F_MAC), 2, 64);
    net = d;
    if ((d->features & VIRTIO_BIT(VIRTIO_NET_F_MAC)) && d->device_cfg_len >= ETH_ALEN) {
        u32 lo = virtio_cfg_read32(d, 0);
        u16 hi = virtio_cfg_read16(d, 4);
        for (u32 i = 0; i < 4; i++)
            vnet_mac[i] = (u8)(lo >> (8 * i));
        vnet_mac[4] = (u8)hi;
        vnet_mac[5] = (u8)(hi >> 8);
        vnet_has_mac = 1;
    } else {
        /* 5.1.5: no MAC from the device, so the driver makes one up
         * (locally administered, from the slot). */
        static const u8 made[ETH_ALEN] = {0x02, 0x6C, 0x67, 0x00, 0x00, 0x00};
        memcpy(vnet_mac, made, ETH_ALEN);
        vnet_mac[5] = (u8)d->slot;
    }
    u8 *page = 0;
    for (u32 i = 0; i < VNET_RX_BUFFERS; i++) {
        if (i % (PAGE_SIZE / VNET_RX_BUF_SIZE) == 0)
            page = (u8 *)page_alloc();
        vnet_post(page + (i % (PAGE_SIZE / VNET_RX_BUF_SIZE)) * VNET_RX_BUF_SIZE);
    }
    virtq_kick(&net->vq[0]);
}

void vnet_send(const void *frame, u32 len)
{
    if (!net)
        fail("vnet_send before vnet_init");
    if (len < ETH_HLEN || len > ETH_FRAME_MAX)
        fail("vnet_send: a frame of %u bytes", len);
    memset(vnet_tx, 0, VIRTIO_NET_HDR_SIZE); /* no checksum offload, no GSO */
    memcpy(vnet_tx + VIRTIO_NET_HDR_SIZE, frame, len);
    struct vbuf b = {vnet_tx, VIRTIO_NET_HDR_SIZE + len};
    virtq_call(&net->vq[1], &b, 1, 0, VIRTIO_TIMEOUT_TICKS);
}

int vnet_recv(void *buf, u32 max, u32 deadline)
{
    if (!net)
        fail("vnet_recv before vnet_init");
    struct virtq *q = &net->vq[0];
    while (virtq_wait_until(q, deadline)) {
        u32 len;
        u8 *b = virtq_get(q, &len);
        int n = -1;
        if (len > VIRTIO_NET_HDR_SIZE) {
            n = (int)(len - VIRTIO_NET_HDR_SIZE);
            if ((u32)n > max)
                n = (int)max;
            memcpy(buf, b + VIRTIO_NET_HDR_SIZE, (u32)n);
        }
        /* The buffer goes straight back (a length of 0 is a frame the
         * device dropped as too big for it). */
        vnet_post(b);
        virtq_kick(q);
        if (n >= 0)
            return n;
    }
    return -1;
}

void mac_format(char *out, const u8 *mac)
{
    format(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

/* ---------------------------------------------------------------- entropy */

static struct virtio_dev *rng;

void vrng_init(struct virtio_dev *d)
{
    virtio_start(d, 0, 1, 8);
    rng = d;
}

void vrng_read(void *buf, u32 len)
{
    if (!rng)
        fail("vrng_read before vrng_init");
    u8 *p = buf;
    u32 empty = 0;
    while (len) {
        struct vbuf b = {p, len};
        u32 got = virtq_call(&rng->vq[0], &b, 0, 1, VIRTIO_TIMEOUT_TICKS);
        if (got > len)
            fail("virtio rng wrote %u bytes into a buffer of %u", got, len);
        if (got == 0 && ++empty == 16)
            fail("virtio rng: 16 requests in a row gave no bytes");
        p += got;
        len -= got;
    }
}

/* --------------------------------------------------------------- helpers */

u32 crc32(const void *buf, u32 len)
{
    const u8 *p = buf;
    u32 crc = 0xFFFFFFFFu;
    while (len--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

void hex_format(char *out, const void *buf, u32 len)
{
    static const char digits[] = "0123456789abcdef";
    const u8 *p = buf;
    for (u32 i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = 0;
}
