// ai.qdq.QConv with AVX-512 VNNI: the shared driver over qconv_ops.h.
#include "runtime/kernels/avx512vnni/qconv_ops.h"
#include "runtime/kernels/registry.h"

namespace qdq {

void qconv_avx512vnni(OpContext& ctx) { qconv_run<avx512vnni::Avx512VnniOps>(ctx); }

}  // namespace qdq
