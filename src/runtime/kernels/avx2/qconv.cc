// ai.qdq.QConv with AVX2: the shared driver over qconv_ops.h.
#include "runtime/kernels/avx2/qconv_ops.h"
#include "runtime/kernels/avx2/qconv_winograd.h"
#include "runtime/kernels/registry.h"

namespace qdq {

void qconv_avx2(OpContext& ctx) { qconv_run<avx2::Avx2Ops>(ctx); }

}  // namespace qdq
