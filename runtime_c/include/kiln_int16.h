/* Kiln runtime: 16-bit activation ("16x8") kernels of the compute layers and the quantize /
 * dequantize conversions between int16, int8, uint8 and float32 (included by kiln_runtime.h). */
#ifndef KILN_INT16_H
#define KILN_INT16_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#endif
