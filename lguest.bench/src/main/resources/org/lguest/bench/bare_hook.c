/*
 * The hypercall floor in C: a guest image on a bare Unicorn engine whose
 * int $0x1f is handled inside the interrupt hook, without stopping, as a C
 * host would do it. Only NOTIFY and SHUTDOWN (and anything that is not a
 * hypercall) stop the run and come back to Java, which times the NOTIFYs
 * as for the other floors. Built by the benchmark with gcc against
 * libunicorn.so.2; Debian ships no headers for it, so the few prototypes
 * and constants used are declared here, with the values Unicorn 2.1's
 * headers give them.
 */
#include <stdint.h>
#include <stdlib.h>

typedef struct uc_struct uc_engine;
typedef size_t uc_hook;

enum { UC_ARCH_X86 = 4, UC_MODE_32 = 4, UC_HOOK_INTR = 1, UC_PROT_ALL = 7 };
enum { UC_X86_REG_EAX = 19, UC_X86_REG_EBX = 21, UC_X86_REG_EIP = 26, UC_X86_REG_GDTR = 243 };

typedef struct {
    uint16_t selector;
    uint64_t base;
    uint32_t limit;
    uint32_t flags;
} uc_x86_mmr;

int uc_open(int arch, int mode, uc_engine **uc);
int uc_close(uc_engine *uc);
int uc_mem_map_ptr(uc_engine *uc, uint64_t address, size_t size, uint32_t perms, void *ptr);
int uc_reg_read(uc_engine *uc, int regid, void *value);
int uc_reg_write(uc_engine *uc, int regid, const void *value);
int uc_hook_add(uc_engine *uc, uc_hook *hh, int type, void *callback, void *user_data, uint64_t begin, uint64_t end, ...);
int uc_emu_start(uc_engine *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count);
int uc_emu_stop(uc_engine *uc);

struct bare {
    uc_engine *uc;
    uint64_t eip, until;
    uint32_t trap_entry, notify, shutdown;
    /* Why the last run stopped: the call (NOTIFY, SHUTDOWN), or 0x10000 | a vector that is not a hypercall. */
    int64_t stopped;
};

/* The whole in-hook host: one register read, and a stop only for what Java must see. */
static void on_interrupt(uc_engine *uc, uint32_t vector, void *user) {
    struct bare *b = user;
    if (vector != b->trap_entry) {
        b->stopped = 0x10000 | vector;
        uc_emu_stop(uc);
        return;
    }
    uint32_t call = 0;
    uc_reg_read(uc, UC_X86_REG_EAX, &call);
    if (call == b->notify || call == b->shutdown) {
        b->stopped = call;
        uc_emu_stop(uc);
    }
}

/* RAM at 0 and the host page (GDT and entry stub) at host_address; NULL on failure. */
struct bare *bare_open(void *ram, uint64_t ram_bytes, void *host, uint64_t host_address, uint64_t gdt, uint32_t gdt_limit,
        uint64_t begin, uint64_t until, uint32_t trap_entry, uint32_t notify, uint32_t shutdown) {
    struct bare *b = calloc(1, sizeof *b);
    if (b == NULL) {
        return NULL;
    }
    uc_hook hook;
    uc_x86_mmr gdtr = { 0, gdt, gdt_limit, 0 };
    if (uc_open(UC_ARCH_X86, UC_MODE_32, &b->uc) != 0) {
        free(b);
        return NULL;
    }
    if (uc_mem_map_ptr(b->uc, 0, ram_bytes, UC_PROT_ALL, ram) != 0
            || uc_mem_map_ptr(b->uc, host_address, 4096, UC_PROT_ALL, host) != 0
            || uc_reg_write(b->uc, UC_X86_REG_GDTR, &gdtr) != 0
            || uc_hook_add(b->uc, &hook, UC_HOOK_INTR, (void *) on_interrupt, b, 1, 0) != 0) {
        uc_close(b->uc);
        free(b);
        return NULL;
    }
    b->eip = begin;
    b->until = until;
    b->trap_entry = trap_entry;
    b->notify = notify;
    b->shutdown = shutdown;
    return b;
}

/* Runs to the next NOTIFY or SHUTDOWN: returns the call (EBX in *arg), or -1 - the uc_err, or -(0x10000 | vector). */
int64_t bare_next(struct bare *b, uint32_t *arg) {
    b->stopped = -1;
    int err = uc_emu_start(b->uc, b->eip, b->until, 0, 0);
    uint32_t eip = 0;
    uc_reg_read(b->uc, UC_X86_REG_EIP, &eip);
    b->eip = eip;
    if (err != 0) {
        return -1 - (int64_t) err;
    }
    if (b->stopped < 0 || b->stopped >= 0x10000) {
        return b->stopped < 0 ? -0x10000 : -b->stopped;
    }
    uc_reg_read(b->uc, UC_X86_REG_EBX, arg);
    return b->stopped;
}

void bare_close(struct bare *b) {
    if (b != NULL) {
        uc_close(b->uc);
        free(b);
    }
}
