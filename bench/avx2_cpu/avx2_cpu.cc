// LD_PRELOAD=libqdq_avx2_cpu.so: the process (and the threads it starts)
// sees an AVX2 + FMA CPU without AVX-512, AVX-VNNI or AMX. The issue's
// targets were set on an AVX2 CPU, where ONNX Runtime's u8s8 kernels use
// vpmaddubsw; on a VNNI CPU its kernels are others, picked by CPUID with no
// run-time switch. The kernel's CPUID faulting (ARCH_SET_CPUID, per thread,
// inherited by threads and children, reset by execve) turns every CPUID into
// a SIGSEGV, whose handler runs the real instruction and clears the hidden
// features' bits. XGETBV is not trapped: the OS still saves the AVX-512 state,
// which no library uses without CPUID's bit.
#include <asm/prctl.h>
#include <cpuid.h>
#include <dlfcn.h>
#include <signal.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace {

using SigactionFunction = int (*)(int, const struct sigaction*, struct sigaction*);

SigactionFunction libc_sigaction() {
  static const auto function = reinterpret_cast<SigactionFunction>(dlsym(RTLD_NEXT, "sigaction"));
  return function;
}

// The SIGSEGV action the process asked for; faults other than CPUID go there.
struct sigaction process_sigsegv_action {};
bool handler_installed = false;

bool set_cpuid_faulting(bool on) {
  return syscall(SYS_arch_prctl, ARCH_SET_CPUID, on ? 0 : 1) == 0;
}

constexpr unsigned bit(unsigned n) { return 1u << n; }

// CPUID leaf 7 sub-leaf 0: EBX AVX512 F, DQ, IFMA, PF, ER, CD, BW, VL;
// ECX AVX512 VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ; EDX AVX512 4VNNIW, 4FMAPS,
// VP2INTERSECT, AMX-BF16, AVX512-FP16, AMX-TILE, AMX-INT8. Sub-leaf 1: EAX
// AVX-VNNI, AVX512-BF16.
void hide_features(unsigned leaf, unsigned subleaf, unsigned& eax, unsigned& ebx, unsigned& ecx,
                   unsigned& edx) {
  if (leaf != 7) return;
  if (subleaf == 0) {
    ebx &= ~(bit(16) | bit(17) | bit(21) | bit(26) | bit(27) | bit(28) | bit(30) | bit(31));
    ecx &= ~(bit(1) | bit(6) | bit(11) | bit(12) | bit(14));
    edx &= ~(bit(2) | bit(3) | bit(8) | bit(22) | bit(23) | bit(24) | bit(25));
  } else if (subleaf == 1) {
    eax &= ~(bit(4) | bit(5));
  }
}

void forward_to_process(int signal, siginfo_t* info, void* context) {
  const struct sigaction& action = process_sigsegv_action;
  if (action.sa_flags & SA_SIGINFO) {
    action.sa_sigaction(signal, info, context);
  } else if (action.sa_handler == SIG_IGN || action.sa_handler == SIG_DFL) {
    // Returning re-runs the faulting instruction, which now meets the default
    // action (a SIGSEGV ignored while it faults would loop forever).
    struct sigaction fallback {};
    fallback.sa_handler = SIG_DFL;
    libc_sigaction()(SIGSEGV, &fallback, nullptr);
  } else {
    action.sa_handler(signal);
  }
}

void on_sigsegv(int signal, siginfo_t* info, void* context) {
  auto* registers = static_cast<ucontext_t*>(context)->uc_mcontext.gregs;
  // A CPUID fault is a general protection fault (SI_KERNEL), taken on an
  // instruction that was fetched, so the bytes at RIP can be read.
  const auto* instruction = reinterpret_cast<const unsigned char*>(registers[REG_RIP]);
  if (info->si_code != SI_KERNEL || instruction[0] != 0x0f || instruction[1] != 0xa2) {
    forward_to_process(signal, info, context);
    return;
  }
  const auto leaf = static_cast<unsigned>(registers[REG_RAX]);
  const auto subleaf = static_cast<unsigned>(registers[REG_RCX]);
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  set_cpuid_faulting(false);
  __cpuid_count(leaf, subleaf, eax, ebx, ecx, edx);
  set_cpuid_faulting(true);
  hide_features(leaf, subleaf, eax, ebx, ecx, edx);
  registers[REG_RAX] = eax;
  registers[REG_RBX] = ebx;
  registers[REG_RCX] = ecx;
  registers[REG_RDX] = edx;
  registers[REG_RIP] += 2;
}

__attribute__((constructor)) void hide_avx512_from_cpuid() {
  struct sigaction action {};
  action.sa_sigaction = on_sigsegv;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  if (libc_sigaction()(SIGSEGV, &action, &process_sigsegv_action) != 0 ||
      !set_cpuid_faulting(true)) {
    // Measuring on the real CPU while meaning the emulated one would be worse
    // than not measuring.
    std::fputs(
        "error: libqdq_avx2_cpu: this CPU or kernel has no CPUID faulting (ARCH_SET_CPUID)\n",
        stderr);
    _exit(1);
  }
  handler_installed = true;
}

}  // namespace

// The process's own SIGSEGV handler (Node's, for one) is kept to forward to,
// not installed over this one.
extern "C" int sigaction(int signal, const struct sigaction* action,
                         struct sigaction* old_action) noexcept {
  if (signal != SIGSEGV || !handler_installed) return libc_sigaction()(signal, action, old_action);
  if (old_action) *old_action = process_sigsegv_action;
  if (action) process_sigsegv_action = *action;
  return 0;
}
