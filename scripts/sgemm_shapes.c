/* Single-thread OpenBLAS sgemm rate for the matrix shapes of the benchmark model.
   Build: gcc -O2 scripts/sgemm_shapes.c -o /tmp/sgemm_shapes $(pkg-config --cflags --libs openblas) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
void run(const char*name,int ta,int tb,int m,int n,int k){
  float*a=malloc(4L*m*k),*b=malloc(4L*k*n),*c=malloc(4L*m*n);
  for(long i=0;i<(long)m*k;i++)a[i]=(i%7)*.01f; for(long i=0;i<(long)k*n;i++)b[i]=(i%5)*.01f;
  double best=1e9;
  for(int r=0;r<5;r++){double t=now();
    cblas_sgemm(CblasRowMajor,ta?CblasTrans:CblasNoTrans,tb?CblasTrans:CblasNoTrans,m,n,k,1,a,ta?m:k,b,tb?k:n,0,c,n);
    t=now()-t; if(t<best)best=t;}
  printf("%-28s %5d %5d %5d  %6.1f GFLOP/s\n",name,m,n,k,2.0*m*n*k/best/1e9);
  free(a);free(b);free(c);}
int main(){openblas_set_num_threads(1);
 run("square nn",0,0,2048,2048,2048);
 run("fwd qkv x*W^T (nt)",0,1,2048,1536,512);
 run("fwd fc (nt)",0,1,2048,2048,512);
 run("fwd out (nt)",0,1,2048,512,2048);
 run("bwd dx qkv dy*W (nn)",0,0,2048,512,1536);
 run("bwd dx out (nn)",0,0,2048,2048,512);
 run("bwd dW qkv dy^T x (tn)",1,0,1536,512,2048);
 run("bwd dW out (tn)",1,0,512,2048,2048);
 run("alt fwd x*Wt (nn)",0,0,2048,1536,512);
 run("alt dW as x^T dy (tn)",1,0,512,1536,2048);
 run("attn QK^T 64blk (nt)",0,1,64,256,64);
 run("attn PV (nn)",0,0,64,64,256);
}
