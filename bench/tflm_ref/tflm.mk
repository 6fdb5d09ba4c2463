# Builds libtflm.a (TFLM runtime + kernels) for the Cortex-M0+ (TARGET=m0plus), RV32IMC (TARGET=rv32)
# or the Cortex-M55 (TARGET=m55, reference and CMSIS-NN kernels):
# Kiln's copy of tflm-qemu's tflm.mk, the target's compiler and flags changed.
# Mirrors the source selection of tensorflow/lite/micro/tools/make/Makefile
# (TARGET=cortex_m_generic TARGET_ARCH=cortex-m4+fp [OPTIMIZED_KERNEL_DIR=cmsis_nn]),
# minus signal/ kernels, tests and benchmarks, with -O2 for every file.
# Usage: make -f tflm.mk SRC=<src dir> KERNELS=ref|cmsis OUT=<dir> -j2   (build.sh runs it)
# SRC holds the extracted trees tflite-micro/ cmsis-nn/ flatbuffers/ gemmlowp/ ruy/.
KERNELS ?= ref
ifeq ($(SRC),)
  $(error SRC=<folder with the extracted source trees> is required)
endif
ifeq ($(OUT),)
  $(error OUT=<output folder> is required)
endif
# Runtime (non-kernel) objects are shared by both kernel sets: no non-kernel source includes a
# header that tests CMSIS_NN (checked on the .d files), so they are byte-identical either way.
CORE_OUT ?= $(abspath $(OUT)/../core)
TFLM := $(SRC)/tflite-micro
CMSIS_NN := $(SRC)/cmsis-nn

TARGET ?= m0plus
ifeq ($(TARGET),rv32)
  CROSS := riscv64-unknown-elf-
  ARCH_FLAGS := -march=rv32imc -mabi=ilp32 --specs=picolibc.specs
  TARGET_FLAGS :=
  # Debian 12 has no C++ library for riscv64-unknown-elf. TFLM (-fno-exceptions -fno-rtti) needs only
  # libstdc++'s headers (<algorithm>, <limits>, <type_traits>, <cmath>...): the arm-none-eabi ones,
  # configured for a 32-bit soft-float newlib target (v6-m/nofp), over picolibc's C headers; no
  # libstdc++ code is linked (fw/main.cc defines the few C++ runtime hooks).
  LIBSTDCXX := /usr/include/newlib/c++/12.2.1
  CXX_SYSTEM := -isystem $(LIBSTDCXX) -isystem $(LIBSTDCXX)/arm-none-eabi/thumb/v6-m/nofp
else ifeq ($(TARGET),m55)
  # TFLM's cortex_m_generic TARGET_ARCH=cortex-m55: Helium (MVE) and FPU; CMSIS-NN takes its MVE paths
  # (ARM_MATH_MVEI from __ARM_FEATURE_MVE)
  CROSS := arm-none-eabi-
  ARCH_FLAGS := -mcpu=cortex-m55 -mthumb -mfloat-abi=hard
  # -fno-if-conversion: gcc 12 puts a VFP vcvt in an IT block (vcvtne.f32.s32), which binutils 2.40
  # reads as Helium's vcvtn and rejects (resize_nearest_neighbor.cc, float code only)
  TARGET_FLAGS := -mlittle-endian -DARMCM55 -fno-if-conversion -fno-if-conversion2
  CXX_SYSTEM :=
else
  CROSS := arm-none-eabi-
  ARCH_FLAGS := -mcpu=cortex-m0plus -mthumb -mfloat-abi=soft
  TARGET_FLAGS := -mlittle-endian -DARMCM0plus
  CXX_SYSTEM :=
endif
CC  := $(CROSS)gcc
CXX := $(CROSS)g++
AR  := $(CROSS)ar
OPT := -O2
# Flags of TFLM's Makefile + cortex_m_generic_makefile.inc with BUILD_TYPE=release_with_logs
# (-DNDEBUG: TFLITE_DCHECKs compiled out, error logs kept). Without NDEBUG the reference
# kernels run ~4.6x more instructions (kws: 198.6M vs 43.0M).
COMMON := $(ARCH_FLAGS) $(OPT) $(TARGET_FLAGS) -fno-unwind-tables -fno-asynchronous-unwind-tables \
  -ffunction-sections -fdata-sections -fmessage-length=0 -fomit-frame-pointer -funsigned-char \
  -DNDEBUG -DTF_LITE_STATIC_MEMORY -DTF_LITE_DISABLE_X86_NEON -DTF_LITE_MCU_DEBUG_LOG \
  -Wno-type-limits -Wno-unused-parameter -MMD -MP
INCLUDES := -I$(TFLM) -I$(SRC)/gemmlowp -I$(SRC)/flatbuffers/include -I$(SRC)/ruy
CORE_INCLUDES := $(INCLUDES)
CORE_CXXFLAGS := $(COMMON) $(CXX_SYSTEM) -std=c++17 -fno-rtti -fno-exceptions -fno-threadsafe-statics
CORE_CFLAGS := $(COMMON) -std=c17
ifeq ($(KERNELS),cmsis)
  COMMON += -DCMSIS_NN -DARM_NN_ENABLE_F16=0 -DARM_NN_ENABLE_F32=0
  INCLUDES += -I$(CMSIS_NN) -I$(CMSIS_NN)/Include
endif
CXXFLAGS := $(COMMON) $(CXX_SYSTEM) -std=c++17 -fno-rtti -fno-exceptions -fno-threadsafe-statics
CFLAGS := $(COMMON) -std=c17
# __FILE__ (error messages of TF_LITE_ENSURE & co.) relative to SRC, so the library holds no
# build-machine paths. Only string constants change; kept out of `make flags` (it names SRC).
PREFIX_MAP := -fmacro-prefix-map=$(SRC)/=

# --- sources (same selection as sources.inc) ---
CORE_SRCS := $(wildcard $(TFLM)/tensorflow/lite/micro/*.cc) \
  $(wildcard $(TFLM)/tensorflow/lite/micro/arena_allocator/*.cc) \
  $(wildcard $(TFLM)/tensorflow/lite/micro/memory_planner/*.cc) \
  $(wildcard $(TFLM)/tensorflow/lite/micro/tflite_bridge/*.cc) \
  $(shell find $(TFLM)/tensorflow -type d \( -path $(TFLM)/tensorflow/lite/experimental -o -path $(TFLM)/tensorflow/lite/micro \) -prune -false -o -name "*.cc" -o -name "*.c")
CORE_SRCS := $(filter-out %_test.cc %/array.cc %/test_helpers.cc %/test_helper_custom_ops.cc %/mock_micro_graph.cc %/fake_micro_context.cc %/recording_micro_allocator.cc,$(CORE_SRCS))
# target specialisation (cortex_m_generic): debug log via callback; generic micro_time (returns 0)
CORE_SRCS := $(filter-out $(TFLM)/tensorflow/lite/micro/debug_log.cc,$(CORE_SRCS)) \
  $(TFLM)/tensorflow/lite/micro/cortex_m_generic/debug_log.cc

# the kernel list of tensorflow/lite/micro/tools/make/sources.inc (MICROLITE_CC_KERNEL_SRCS)
KERNEL_SRCS := $(addprefix $(TFLM)/,$(shell sed -n '/^MICROLITE_CC_KERNEL_SRCS := /,/^$$/p' $(TFLM)/tensorflow/lite/micro/tools/make/sources.inc | grep -o 'tensorflow/lite/micro/kernels/[A-Za-z0-9_]*\.cc'))
ifeq ($(KERNELS),cmsis)
  CMSIS_KERNELS := $(wildcard $(TFLM)/tensorflow/lite/micro/kernels/cmsis_nn/*.cc)
  KERNEL_SRCS := $(filter-out $(patsubst $(TFLM)/tensorflow/lite/micro/kernels/cmsis_nn/%,$(TFLM)/tensorflow/lite/micro/kernels/%,$(CMSIS_KERNELS)),$(KERNEL_SRCS)) $(CMSIS_KERNELS)
  NN_SRCS := $(shell find $(CMSIS_NN)/Source -name "*.c")
  NN_SRCS := $(filter-out %_f16.c %_f32.c %/arm_nntables_flt.c,$(NN_SRCS))
endif

CORE_OBJS := $(patsubst $(SRC)/%,$(CORE_OUT)/obj/%.o,$(CORE_SRCS))
KOBJS := $(patsubst $(SRC)/%,$(OUT)/obj/%.o,$(KERNEL_SRCS) $(NN_SRCS))
OBJS := $(CORE_OBJS) $(KOBJS)

all: $(OUT)/libtflm.a

$(OUT)/libtflm.a: $(OBJS)
	@rm -f $@
	$(AR) rcs $@ $^
	@echo "$(KERNELS): $(words $(OBJS)) objects -> $@"

$(CORE_OUT)/obj/%.cc.o: $(SRC)/%.cc
	@mkdir -p $(dir $@)
	@$(CXX) $(CORE_CXXFLAGS) $(PREFIX_MAP) $(CORE_INCLUDES) -c $< -o $@
$(CORE_OUT)/obj/%.c.o: $(SRC)/%.c
	@mkdir -p $(dir $@)
	@$(CC) $(CORE_CFLAGS) $(PREFIX_MAP) $(CORE_INCLUDES) -c $< -o $@
$(OUT)/obj/%.cc.o: $(SRC)/%.cc
	@mkdir -p $(dir $@)
	@$(CXX) $(CXXFLAGS) $(PREFIX_MAP) $(INCLUDES) -c $< -o $@
$(OUT)/obj/%.c.o: $(SRC)/%.c
	@mkdir -p $(dir $@)
	@$(CC) $(CFLAGS) $(PREFIX_MAP) $(INCLUDES) -c $< -o $@

flags:
	@echo "CXXFLAGS=$(CXXFLAGS)"
	@echo "CFLAGS=$(CFLAGS)"
	@echo "INCLUDES=$(INCLUDES)"

-include $(OBJS:.o=.d)
.PHONY: all flags
