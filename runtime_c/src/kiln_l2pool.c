/* Kiln runtime: L2_POOL_2D (float32, NHWC): sqrt of the mean square over each window's in-bounds taps. */
#include <math.h>

#include "kiln_runtime.h"

void kiln_l2pool_f32(const float *input, float *output, const kiln_l2pool_params_t *p)
{
    int32_t b, oy, ox, ch, y, x;
    for (b = 0; b < p->batches; ++b) {
        const float *in = input + (size_t)b * (size_t)(p->in_h * p->in_w * p->c);
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->s_h - p->pad_h;
            const int32_t ys = y0 < 0 ? -y0 : 0;
            const int32_t ye = p->f_h < p->in_h - y0 ? p->f_h : p->in_h - y0;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->s_w - p->pad_w;
                const int32_t xs = x0 < 0 ? -x0 : 0;
                const int32_t xe = p->f_w < p->in_w - x0 ? p->f_w : p->in_w - x0;
                for (ch = 0; ch < p->c; ++ch) {
                    float sum = 0.0f, r;
                    int32_t count = 0;
                    for (y = ys; y < ye; ++y) {
                        for (x = xs; x < xe; ++x) {
                            const float v = in[((y0 + y) * p->in_w + (x0 + x)) * p->c + ch];
                            sum += v * v;
                            ++count;
                        }
                    }
                    r = count > 0 ? sqrtf(sum / (float)count) : 0.0f;
                    r = r < p->act_min ? p->act_min : r;
                    *output++ = r > p->act_max ? p->act_max : r;
                }
            }
        }
    }
}
