/* TFLite_Detection_PostProcess, the custom operator SSD-style detectors end with, as TFLite Micro
 * computes it: box encodings decoded against the anchors (in double, as it does), then non-maximum
 * suppression, fast (each anchor's best classes, one NMS over the anchors) or regular (one NMS per
 * class, the best over all kept). Sorting is stable and descending, which is the order its
 * (value, index) comparisons give. */
#include <math.h>
#include <string.h>

#include "kiln_runtime.h"

typedef struct {
    float ymin, xmin, ymax, xmax;
} box_t;

/* indices 0..n-1 ordered by decreasing v, equal values keeping their order (bottom-up merge) */
static void argsort_desc(const float *v, int32_t n, int32_t *idx, int32_t *tmp)
{
    int32_t i, width;
    for (i = 0; i < n; ++i) idx[i] = i;
    for (width = 1; width < n; width *= 2) {
        for (i = 0; i < n; i += 2 * width) {
            const int32_t mid = i + width < n ? i + width : n, end = i + 2 * width < n ? i + 2 * width : n;
            int32_t l = i, r = mid, k = i;
            while (k < end) {
                if (l < mid && (r >= end || !(v[idx[r]] > v[idx[l]]))) tmp[k++] = idx[l++];
                else tmp[k++] = idx[r++];
            }
        }
        memcpy(idx, tmp, (size_t)n * sizeof *idx);
    }
}

static float iou(const box_t *bi, const box_t *bj)
{
    const float area_i = (bi->ymax - bi->ymin) * (bi->xmax - bi->xmin);
    const float area_j = (bj->ymax - bj->ymin) * (bj->xmax - bj->xmin);
    float ymin, xmin, ymax, xmax, h, w, inter;
    if (area_i <= 0.0f || area_j <= 0.0f) return 0.0f;
    ymin = bi->ymin > bj->ymin ? bi->ymin : bj->ymin;
    xmin = bi->xmin > bj->xmin ? bi->xmin : bj->xmin;
    ymax = bi->ymax < bj->ymax ? bi->ymax : bj->ymax;
    xmax = bi->xmax < bj->xmax ? bi->xmax : bj->xmax;
    h = ymax - ymin;
    w = xmax - xmin;
    inter = (h > 0.0f ? h : 0.0f) * (w > 0.0f ? w : 0.0f);
    return inter / (area_i + area_j - inter);
}

/* The scratch, carved per call in this order (the compiler sizes it: ops/detection.py). */
typedef struct {
    box_t *boxes;
    float *keep_scores, *class_scores, *cand_scores, *cand_tmp_scores;
    int32_t *keep_idx, *order, *sort_tmp, *selected, *cand_idx, *cand_tmp_idx, *top_classes;
    uint8_t *active;
} work_t;

/* One NMS over the boxes with these scores: at most max_out indices of boxes into w->selected. */
static int32_t nms(const kiln_detection_params_t *p, const work_t *w, const float *scores, int32_t max_out)
{
    int32_t n = 0, i, j, active_left, out = 0, out_size;
    for (i = 0; i < p->num_boxes; ++i) {
        if (scores[i] >= p->score_threshold) {
            w->keep_scores[n] = scores[i];
            w->keep_idx[n++] = i;
        }
    }
    argsort_desc(w->keep_scores, n, w->order, w->sort_tmp);
    out_size = n < max_out ? n : max_out;
    memset(w->active, 1, (size_t)n);
    active_left = n;
    for (i = 0; i < n; ++i) {
        if (active_left == 0 || out >= out_size) break;
        if (!w->active[i]) continue;
        w->selected[out++] = w->keep_idx[w->order[i]];
        w->active[i] = 0;
        --active_left;
        for (j = i + 1; j < n; ++j) {
            if (w->active[j] &&
                iou(&w->boxes[w->keep_idx[w->order[i]]], &w->boxes[w->keep_idx[w->order[j]]]) > p->iou_threshold) {
                w->active[j] = 0;
                --active_left;
            }
        }
    }
    return out;
}

static work_t carve(const kiln_detection_params_t *p, uint8_t *s)
{
    const size_t n = (size_t)p->num_boxes, cand = (size_t)(p->max_detections + p->detections_per_class);
    const size_t sort_n = n > cand ? n : cand;
    const size_t cls = (size_t)(p->num_classes > 0 ? p->num_classes : 1);
    const size_t ord = sort_n > cls ? sort_n : cls;
    work_t w;
    w.boxes = (box_t *)s, s += n * sizeof(box_t);
    w.keep_scores = (float *)s, s += n * sizeof(float);
    w.class_scores = (float *)s, s += n * sizeof(float);
    w.cand_scores = (float *)s, s += cand * sizeof(float);
    w.cand_tmp_scores = (float *)s, s += cand * sizeof(float);
    w.keep_idx = (int32_t *)s, s += n * sizeof(int32_t);
    w.order = (int32_t *)s, s += ord * sizeof(int32_t);
    w.sort_tmp = (int32_t *)s, s += ord * sizeof(int32_t);
    w.selected = (int32_t *)s, s += n * sizeof(int32_t);
    w.cand_idx = (int32_t *)s, s += cand * sizeof(int32_t);
    w.cand_tmp_idx = (int32_t *)s, s += cand * sizeof(int32_t);
    w.top_classes = (int32_t *)s, s += n * (size_t)p->categories * sizeof(int32_t);
    w.active = s;
    return w;
}

void kiln_detection_postprocess(const float *encodings, const float *scores, const float *anchors, float *out_boxes,
                                float *out_classes, float *out_scores, float *out_num,
                                const kiln_detection_params_t *p, void *scratch)
{
    const work_t w = carve(p, (uint8_t *)scratch);
    const int32_t cwb = p->classes_with_background, offset = cwb - p->num_classes;
    int32_t i, k;
    memset(out_boxes, 0, (size_t)p->out_rows * 4u * sizeof(float));
    memset(out_classes, 0, (size_t)p->out_rows * sizeof(float));
    memset(out_scores, 0, (size_t)p->out_rows * sizeof(float));
    out_num[0] = 0.0f;
    for (i = 0; i < p->num_boxes; ++i) { /* {y, x, h, w} against anchors {y, x, h, w} */
        const float *e = encodings + (size_t)i * (size_t)p->encoding_stride, *a = anchors + 4 * i;
        const float yc = (float)((double)e[0] / (double)p->y_scale * (double)a[2] + (double)a[0]);
        const float xc = (float)((double)e[1] / (double)p->x_scale * (double)a[3] + (double)a[1]);
        const float hh = (float)(0.5 * exp((double)e[2] / (double)p->h_scale) * (double)a[2]);
        const float hw = (float)(0.5 * exp((double)e[3] / (double)p->w_scale) * (double)a[3]);
        w.boxes[i].ymin = yc - hh;
        w.boxes[i].xmin = xc - hw;
        w.boxes[i].ymax = yc + hh;
        w.boxes[i].xmax = xc + hw;
        /* TFLite Micro fails the inference on an empty box: no detection then */
        if (!(w.boxes[i].ymin < w.boxes[i].ymax) || !(w.boxes[i].xmin < w.boxes[i].xmax)) return;
    }
    if (p->regular) {
        int32_t kept = 0, col;
        for (col = 0; col < p->num_classes; ++col) {
            int32_t n_sel, at = kept, n_sort;
            for (i = 0; i < p->num_boxes; ++i) w.class_scores[i] = scores[i * cwb + col + offset];
            n_sel = nms(p, &w, w.class_scores, p->detections_per_class);
            for (i = 0; i < n_sel; ++i, ++at) {
                w.cand_idx[at] = w.selected[i] * cwb + col + offset;
                w.cand_scores[at] = w.class_scores[w.selected[i]];
            }
            n_sort = at < p->max_detections ? at : p->max_detections;
            argsort_desc(w.cand_scores, at, w.order, w.sort_tmp);
            for (i = 0; i < n_sort; ++i) {
                w.cand_tmp_idx[i] = w.cand_idx[w.order[i]];
                w.cand_tmp_scores[i] = w.cand_scores[w.order[i]];
            }
            memcpy(w.cand_idx, w.cand_tmp_idx, (size_t)n_sort * sizeof(int32_t));
            memcpy(w.cand_scores, w.cand_tmp_scores, (size_t)n_sort * sizeof(float));
            kept = n_sort;
        }
        for (i = 0; i < kept && i < p->out_rows; ++i) {
            const int32_t anchor = w.cand_idx[i] / cwb;
            memcpy(out_boxes + 4 * i, &w.boxes[anchor], sizeof(box_t));
            out_classes[i] = (float)(w.cand_idx[i] - anchor * cwb - offset);
            out_scores[i] = w.cand_scores[i];
        }
        out_num[0] = (float)kept;
    } else {
        int32_t n_sel, written = 0;
        for (i = 0; i < p->num_boxes; ++i) {
            const float *row = scores + i * cwb + offset;
            argsort_desc(row, p->num_classes, w.order, w.sort_tmp);
            memcpy(w.top_classes + i * p->categories, w.order, (size_t)p->categories * sizeof(int32_t));
            w.class_scores[i] = row[w.order[0]];
        }
        n_sel = nms(p, &w, w.class_scores, p->max_detections);
        for (i = 0; i < n_sel; ++i) {
            const int32_t anchor = w.selected[i];
            for (k = 0; k < p->categories; ++k) {
                /* TFLite Micro's offset: categories x (detections written so far) + k */
                const int32_t at = p->categories * written + k, cls = w.top_classes[anchor * p->categories + k];
                if (at < p->out_rows) {
                    memcpy(out_boxes + 4 * at, &w.boxes[anchor], sizeof(box_t));
                    out_classes[at] = (float)cls;
                    out_scores[at] = scores[anchor * cwb + offset + cls];
                }
                ++written;
            }
        }
        out_num[0] = (float)written;
    }
}
