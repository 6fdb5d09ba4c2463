/* Kiln runtime: unary maths and activation kernels (included by kiln_runtime.h). */
#ifndef KILN_MATHS_H
#define KILN_MATHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#endif
