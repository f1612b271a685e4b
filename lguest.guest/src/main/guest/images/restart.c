/*
 * restart: ask the Host for a restart (SHUTDOWN, reason "Restart",
 * LGUEST_SHUTDOWN_RESTART). Every boot does the same, so a Launcher that
 * really restarts it sees these lines again each time.
 */
#include "rt.h"

IMAGE("restart");

void main(void)
{
    guest_init();
    say("restart: asking the Host for a restart");
    say("PASS %s", image_name);
    restart();
}
