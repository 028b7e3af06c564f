/* Single-thread matrix-product rate of each candidate engine on the shapes of the
   benchmark model: OpenBLAS cblas_sgemm (its kernel follows OPENBLAS_CORETYPE or its own
   CPU detection), oneDNN dnnl_sgemm, and oneDNN's matmul primitive in f32 and bf16
   (bf16 prints 0 where the CPU has no bf16 instructions). How Tessera's engine was chosen.
   Build: gcc -O2 scripts/gemm_engines.c -o /tmp/gemm_engines $(pkg-config --cflags --libs openblas) -ldnnl -lgomp
   (needs libopenblas-dev besides libdnnl-dev). Run: /tmp/gemm_engines; OPENBLAS_CORETYPE=SkylakeX /tmp/gemm_engines */
#include <cblas.h>
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdint.h>
void omp_set_num_threads(int);
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static dnnl_engine_t eng; static dnnl_stream_t str;
typedef struct {const char*name;int ta,tb,m,n,k;} shape;
static shape shapes[]={
 {"square nn",0,0,2048,2048,2048},
 {"fwd qkv x*W^T (nt)",0,1,2048,1536,512},
 {"fwd fc (nt)",0,1,2048,2048,512},
 {"fwd out (nt)",0,1,2048,512,2048},
 {"bwd dx qkv dy*W (nn)",0,0,2048,512,1536},
 {"bwd dx out (nn)",0,0,2048,2048,512},
 {"bwd dW qkv dy^T x (tn)",1,0,1536,512,2048},
 {"bwd dW out (tn)",1,0,512,2048,2048},
 {"head x*wte^T (nt) v256",0,1,2048,256,512},
 {"attn QK^T 64blk (nt)",0,1,64,256,64},
 {"attn PV (nn)",0,0,64,64,256},
};
static void fill(float*p,long n,int s){for(long i=0;i<n;i++)p[i]=((i*s)%13)*.01f-.06f;}
static double best_of(void(*f)(void*),void*ctx,int reps){double b=1e9;for(int r=0;r<reps;r++){double t=now();f(ctx);t=now()-t;if(t<b)b=t;}return b;}
typedef struct {shape s; float*a,*b,*c; uint16_t*ab,*bb; dnnl_primitive_t p; dnnl_memory_t ma,mb,mc,msp;} job;
static void do_blas(void*v){job*j=v;shape s=j->s;cblas_sgemm(CblasRowMajor,s.ta?CblasTrans:CblasNoTrans,s.tb?CblasTrans:CblasNoTrans,s.m,s.n,s.k,1,j->a,s.ta?s.m:s.k,j->b,s.tb?s.k:s.n,0,j->c,s.n);}
static void do_dsgemm(void*v){job*j=v;shape s=j->s;dnnl_sgemm(s.ta?'T':'N',s.tb?'T':'N',s.m,s.n,s.k,1,j->a,s.ta?s.m:s.k,j->b,s.tb?s.k:s.n,0,j->c,s.n);}
static void do_prim(void*v){job*j=v;dnnl_exec_arg_t args[4]={{DNNL_ARG_SRC,j->ma},{DNNL_ARG_WEIGHTS,j->mb},{DNNL_ARG_DST,j->mc},{DNNL_ARG_SCRATCHPAD,j->msp}};
  dnnl_primitive_execute(j->p,str,4,args);dnnl_stream_wait(str);}
static void make_prim(job*j,dnnl_data_type_t dt,void*a,void*b){shape s=j->s;
  dnnl_memory_desc_t am,bm,cm; dnnl_dims_t ad={s.m,s.k},bd={s.k,s.n},cd={s.m,s.n};
  dnnl_dims_t as_={s.ta?1:s.k, s.ta?s.m:1}, bs={s.tb?1:s.n, s.tb?s.k:1}, cs={s.n,1};
  dnnl_memory_desc_init_by_strides(&am,2,ad,dt,as_);dnnl_memory_desc_init_by_strides(&bm,2,bd,dt,bs);dnnl_memory_desc_init_by_strides(&cm,2,cd,dnnl_f32,cs);
  dnnl_matmul_desc_t md; dnnl_matmul_desc_init(&md,&am,&bm,NULL,&cm);
  dnnl_primitive_attr_t at; dnnl_primitive_attr_create(&at); dnnl_primitive_attr_set_scratchpad_mode(at,dnnl_scratchpad_mode_user);
  dnnl_primitive_desc_t pd; if(dnnl_primitive_desc_create(&pd,&md,at,eng,NULL)){j->p=NULL;return;}
  const char*impl; dnnl_primitive_desc_query(pd,dnnl_query_impl_info_str,0,&impl); 
  const dnnl_memory_desc_t*spmd=dnnl_primitive_desc_query_md(pd,dnnl_query_scratchpad_md,0);
  size_t sz=dnnl_memory_desc_get_size(spmd); void*sp=malloc(sz+64);
  dnnl_primitive_create(&j->p,pd);
  dnnl_memory_create(&j->ma,&am,eng,a);dnnl_memory_create(&j->mb,&bm,eng,b);dnnl_memory_create(&j->mc,&cm,eng,j->c);dnnl_memory_create(&j->msp,spmd,eng,sp);
  printf("  [%s]",impl);}
int main(int argc,char**argv){omp_set_num_threads(1);openblas_set_num_threads(1);
 dnnl_engine_create(&eng,dnnl_cpu,0);dnnl_stream_create(&str,eng,dnnl_stream_default_flags);
 printf("openblas core: %s\n",openblas_get_corename());
 printf("%-26s %5s %5s %5s %9s %9s %9s %9s\n","shape","m","n","k","openblas","dnnlsgemm","mm f32","mm bf16");
 for(unsigned i=0;i<sizeof shapes/sizeof*shapes;i++){job j={0};j.s=shapes[i];shape s=j.s;
  j.a=malloc(4L*s.m*s.k);j.b=malloc(4L*s.k*s.n);j.c=malloc(4L*s.m*s.n);fill(j.a,(long)s.m*s.k,7);fill(j.b,(long)s.k*s.n,5);
  j.ab=malloc(2L*s.m*s.k+2);j.bb=malloc(2L*s.k*s.n+2);
  for(long q=0;q<(long)s.m*s.k;q++){uint32_t u;memcpy(&u,&j.a[q],4);j.ab[q]=u>>16;}
  for(long q=0;q<(long)s.k*s.n;q++){uint32_t u;memcpy(&u,&j.b[q],4);j.bb[q]=u>>16;}
  int reps=s.m<256?200:5; double fl=2.0*s.m*s.n*s.k;
  double t1=best_of(do_blas,&j,reps), t2=best_of(do_dsgemm,&j,reps);
  job jf=j; make_prim(&jf,dnnl_f32,j.a,j.b); double t3=best_of(do_prim,&jf,reps);
  job jb=j; make_prim(&jb,dnnl_bf16,j.ab,j.bb); double t4=jb.p?best_of(do_prim,&jb,reps):1e30;
  printf("\n%-26s %5d %5d %5d %9.1f %9.1f %9.1f %9.1f\n",s.name,s.m,s.n,s.k,fl/t1/1e9,fl/t2/1e9,fl/t3/1e9,fl/t4/1e9);
 }}
