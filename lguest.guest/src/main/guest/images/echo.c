/*
 * echo: reads lines from its virtio console and writes each back, until the
 * line "quit". It is what a person (lguest:attach, ./lguest run) or a test
 * types at: input reaches it only through the console's receive queue.
 * A line ends at '\n' or '\r' (a terminal in raw mode sends '\r' for Enter);
 * the empty line between "\r\n" is skipped.
 */
#include "virtio.h"

IMAGE("echo");

#define TICK_NS 10000000u   /* 10 ms */
#define RX_BUFFERS 4
#define RX_BYTES 128
#define LINE_MAX 200
#define WAIT_TICKS 6000     /* wake at least once a minute; input may take forever */

static u8 rx[RX_BUFFERS][RX_BYTES];

static void post(struct virtq *q, u8 *buf)
{
    struct vbuf b = {buf, RX_BYTES};
    if (virtq_add(q, &b, 0, 1, buf) < 0)
        fail("no room in the receive queue");
}

void main(void)
{
    static char line[LINE_MAX + 1];
    u32 length = 0, lines = 0;
    int last_was_cr = 0;

    guest_init();
    traps_init();
    irq_disable();
    clock_start(TICK_NS);
    virtio_scan();
    struct virtio_dev *console = virtio_find(VIRTIO_ID_CONSOLE, 0);
    if (!console)
        fail("no virtio-console device");
    vcons_init(console);
    vcons_take_say();

    struct virtq *q = &console->vq[0];
    for (u32 i = 0; i < RX_BUFFERS; i++)
        post(q, rx[i]);
    virtq_kick(q);
    say("echo: type lines; each comes back, \"quit\" ends");

    for (;;) {
        u32 got;
        u8 *buf = virtq_get(q, &got);
        if (!buf) {
            virtq_wait_until(q, clock_ticks + WAIT_TICKS);
            continue;
        }
        if (got > RX_BYTES)
            fail("the console wrote %u bytes into a %u-byte buffer", got, RX_BYTES);
        for (u32 i = 0; i < got; i++) {
            char c = (char)buf[i];
            if (c == '\n' && last_was_cr) {
                last_was_cr = 0;
                continue;
            }
            last_was_cr = c == '\r';
            if (c != '\n' && c != '\r') {
                if (length < LINE_MAX)
                    line[length++] = c;
                continue;
            }
            line[length] = 0;
            length = 0;
            lines++;
            if (strcmp(line, "quit") == 0) {
                say("echo: %u lines", lines);
                pass();
            }
            say("echo: %s", line);
        }
        post(q, buf);
        virtq_kick(q);
    }
}
