// oneDNN (Debian's libdnnl-dev) for matrix products, plus the one OpenMP call
// Tessera needs: oneDNN's CPU runtime is GNU OpenMP, and each thread that
// calls it must ask for one OpenMP thread so ranks never oversubscribe cores.
#include <oneapi/dnnl/dnnl.h>

void omp_set_num_threads(int);

// bf16 x bf16 -> float32 matrix products through oneDNN's matmul primitive,
// row-major, with optional transposes and C += (accumulate) or C = . A
// primitive is built once per shape and then run many times; its scratchpad
// is the caller's, so one primitive may run on several threads at once.

/// Builds C[m,n] (+)= op(A)[m,k] · op(B)[k,n] on bf16 A and B; returns NULL when
/// this CPU has no bf16 product (then *scratchpad_bytes is untouched).
static inline dnnl_primitive_t tessera_bf16_product_create(
        dnnl_engine_t engine, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
        int64_t lda, int64_t ldb, int64_t ldc, int accumulate, size_t *scratchpad_bytes) {
    dnnl_memory_desc_t a, b, c;
    dnnl_dims_t a_dims = {m, k}, b_dims = {k, n}, c_dims = {m, n};
    dnnl_dims_t a_strides = {trans_a ? 1 : lda, trans_a ? lda : 1};
    dnnl_dims_t b_strides = {trans_b ? 1 : ldb, trans_b ? ldb : 1};
    dnnl_dims_t c_strides = {ldc, 1};
    if (dnnl_memory_desc_init_by_strides(&a, 2, a_dims, dnnl_bf16, a_strides) != dnnl_success
        || dnnl_memory_desc_init_by_strides(&b, 2, b_dims, dnnl_bf16, b_strides) != dnnl_success
        || dnnl_memory_desc_init_by_strides(&c, 2, c_dims, dnnl_f32, c_strides) != dnnl_success) return NULL;
    dnnl_matmul_desc_t desc;
    if (dnnl_matmul_desc_init(&desc, &a, &b, NULL, &c) != dnnl_success) return NULL;
    dnnl_primitive_attr_t attr;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    dnnl_post_ops_t post = NULL;
    if (accumulate) {
        dnnl_post_ops_create(&post);
        dnnl_post_ops_append_sum(post, 1.0f);
        dnnl_primitive_attr_set_post_ops(attr, post);
    }
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t st = dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL);
    if (post) dnnl_post_ops_destroy(post);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) return NULL;
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    // A reference (scalar) implementation is no product worth using.
    if (impl && impl[0] == 'r' && impl[1] == 'e' && impl[2] == 'f') { dnnl_primitive_desc_destroy(pd); return NULL; }
    *scratchpad_bytes = dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0));
    dnnl_primitive_t p = NULL;
    st = dnnl_primitive_create(&p, pd);
    dnnl_primitive_desc_destroy(pd);
    return st == dnnl_success ? p : NULL;
}

/// Runs a product built above on `stream` (one per calling thread) with the
/// caller's scratchpad; returns oneDNN's status.
static inline dnnl_status_t tessera_bf16_product_run(dnnl_primitive_t p, dnnl_engine_t engine, dnnl_stream_t stream,
                                                     const void *a, const void *b, float *c, void *scratchpad) {
    const_dnnl_primitive_desc_t pd;
    dnnl_status_t st = dnnl_primitive_get_primitive_desc(p, &pd);
    if (st != dnnl_success) return st;
    dnnl_memory_t ma = NULL, mb = NULL, mc = NULL, ms = NULL;
    st = dnnl_memory_create(&ma, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), engine, (void *)a);
    if (st == dnnl_success) st = dnnl_memory_create(&mb, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), engine, (void *)b);
    if (st == dnnl_success) st = dnnl_memory_create(&mc, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), engine, c);
    if (st == dnnl_success) st = dnnl_memory_create(&ms, dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0), engine, scratchpad);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}, {DNNL_ARG_SCRATCHPAD, ms}};
        st = dnnl_primitive_execute(p, stream, 4, args);
        if (st == dnnl_success) st = dnnl_stream_wait(stream);
    }
    if (ma) dnnl_memory_destroy(ma);
    if (mb) dnnl_memory_destroy(mb);
    if (mc) dnnl_memory_destroy(mc);
    if (ms) dnnl_memory_destroy(ms);
    return st;
}
