# Kiln's device RPC server, for Makefile projects: `kiln profile` and `kiln run --port` talk to
# it inside your own firmware. Include this file after the models' kiln.mk, then build
# $(KILN_RPC_SRCS) with $(KILN_RPC_INCLUDES) (and the models' $(KILN_INCLUDES) $(KILN_DEFINES)):
#     KILN_PROFILE = 1                  (per-operator timings; before the includes)
#     include <model folder>/kiln.mk
#     include <this folder>/kiln_rpc.mk
#     CFLAGS += $(KILN_INCLUDES) $(KILN_RPC_INCLUDES) $(KILN_DEFINES)
#     OBJS += $(KILN_SRCS:.c=.o) $(KILN_RPC_SRCS:.c=.o)
# Your firmware provides the porting layer declared in kiln_platform.h (bytes in and out, a tick
# counter) and calls kiln_rpc_poll() from its main loop: docs/firmware.md. (Paths without spaces.)
KILN_RPC_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
ifeq ($(KILN_RPC_SRCS),)
KILN_RPC_SRCS := $(KILN_RPC_DIR)/kiln_frame.c $(KILN_RPC_DIR)/kiln_rpc.c
KILN_RPC_INCLUDES := -I$(KILN_RPC_DIR)
endif
