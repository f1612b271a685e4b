# The compiler flags and the runtime, shared by the Makefile beside this file
# (our images) and the guest SDK's Makefile (a device author's test guests).
# Set before including it:
#   GUEST_DIR  the folder holding include/, rt/ and guest.ld, with a trailing
#              slash (empty: the current folder)
#   OBJ        where the objects go

CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif
AR ?= ar
ifeq ($(origin AR),default)
AR := ar
endif
OBJCOPY ?= objcopy

CFLAGS := -m32 -march=i686 -std=gnu11 -O2 -g0 \
	-ffreestanding -nostdlib -fno-pic -fno-pie -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fno-unwind-tables -fcf-protection=none \
	-fno-common -fno-strict-aliasing -fno-delete-null-pointer-checks \
	-fno-tree-loop-distribute-patterns -mgeneral-regs-only \
	-mpreferred-stack-boundary=2 -Wall -Wextra -Wno-main -I$(GUEST_DIR)include
ASFLAGS := -m32 -I$(GUEST_DIR)include
GUEST_LD := $(GUEST_DIR)guest.ld
LDFLAGS := -m32 -nostdlib -static -no-pie -Wl,-T,$(GUEST_LD) -Wl,--build-id=none \
	-Wl,-z,noexecstack -Wl,-z,max-page-size=4096

RT_OBJS := $(OBJ)/rt/entry.o $(OBJ)/rt/rt.o $(OBJ)/rt/format.o $(OBJ)/rt/paging.o $(OBJ)/rt/lib.o
# The optional part of the runtime (the clock, PCI and virtio drivers): an
# archive after the image, so only the images that use it carry it.
RT_LIB_OBJS := $(OBJ)/rt/clock.o $(OBJ)/rt/virtio.o $(OBJ)/rt/vdev.o
RT_LIB := $(OBJ)/librt-extra.a

.PHONY: toolchain

# One clear line when the compiler (or its 32-bit mode) is missing.
toolchain:
	@command -v $(CC) >/dev/null 2>&1 || { echo "lguest.guest: no C compiler to build guest images: apt-get install gcc gcc-multilib" >&2; exit 1; }
	@echo 'int lguest_probe;' | $(CC) -m32 -ffreestanding -c -x c - -o /dev/null >/dev/null 2>&1 || { echo "lguest.guest: $(CC) cannot build 32-bit code for guest images: apt-get install gcc gcc-multilib" >&2; exit 1; }

$(OBJ)/rt/%.o: $(GUEST_DIR)rt/%.c | toolchain
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(OBJ)/rt/%.o: $(GUEST_DIR)rt/%.S | toolchain
	@mkdir -p $(dir $@)
	$(CC) $(ASFLAGS) -MMD -MP -c $< -o $@

$(RT_LIB): $(RT_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

-include $(wildcard $(OBJ)/rt/*.d)
