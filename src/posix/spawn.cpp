// src/posix/spawn.cpp -- starting a child with clone(CLONE_VM | CLONE_VFORK) on a private stack.
//
// Why this shape:
//  - CLONE_VM shares the parent's memory, so spawning costs the same from a 2 GiB parent as from a small one
//    (fork would copy the page tables). CLONE_VFORK suspends the calling thread until the child execs or
//    exits, so the child may write its errno straight into the parent's memory: no error pipe is needed.
//  - The child shares memory with a live parent, so it runs only raw system calls: no malloc, no locks, no
//    sanitizer interceptors (they would update the parent's bookkeeping), no libc wrapper that touches state.
//  - No application handler may run in the child on the shared memory. With clone3 CLONE_CLEAR_SIGHAND makes
//    every caught handler SIG_DFL in the child from its first instruction, so nothing is blocked: the child
//    starts with the caller's mask and only unblocks a SIGPIPE block of ours (two rt_sigprocmask calls fewer
//    per spawn in the caller). On the clone path all signals are blocked around clone, the child resets caught
//    handlers to SIG_DFL, then restores the caller's mask just before exec.
//  - When the child keeps only the descriptors it was given (close_fds), it starts on the parent's descriptor
//    table (CLONE_FILES) and its first act is close_range(keep, ~0, CLOSE_RANGE_UNSHARE), which gives it a
//    private table holding only the descriptors below `keep`. Without that, clone copies the whole table and
//    the child then closes it again: a parent holding 10 000 descriptors (pidfds of its other children) paid
//    for all of them on every spawn.
//  - On x86-64 the child is started with clone3 (a few lines of assembly below, as glibc has no wrapper):
//    CLONE_CLEAR_SIGHAND resets every caught handler to SIG_DFL in the same call, where the child would
//    otherwise ask for each of the 64 signals' handler (64 system calls while the caller waits: the time from
//    spawn to exec went down by ~10-15 us of ~75 us on a virtual machine), and CLONE_PIDFD returns the pidfd with the pid (no pidfd_open after). Where clone3 or one
//    of its flags is missing or refused (kernels before 5.5, seccomp), and while test faults are armed, the
//    plain clone path below runs instead.
#include "posix/platform.hpp"
#include "posix/fault.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>

#include <dlfcn.h>
#include <linux/close_range.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__clang__)
#define SLUICE_NO_SANITIZE __attribute__((no_sanitize("address", "thread", "undefined", "memory"), noinline))
#else
#define SLUICE_NO_SANITIZE \
  __attribute__((no_sanitize_address, no_sanitize_thread, no_sanitize_undefined, noinline))
#endif

namespace sluice::detail::os {
namespace {

// The kernel's struct sigaction (x86_64, arm64 and the generic layout agree on the first field, the handler;
// the rest is only ever zero here). Padded so that a larger kernel layout can never write past it.
struct kernel_sigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  std::uint64_t mask;
  std::uint64_t spare[4];
};

constexpr int kernel_nsig = 64;

#if defined(__SANITIZE_THREAD__)
#define SLUICE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SLUICE_TSAN 1
#endif
#endif

using clone_fn = int (*)(int (*)(void*), void*, int, void*, ...);
using vfork_fn = pid_t (*)();

// ThreadSanitizer intercepts clone() and vfork() and treats both as a fork: in the child it resets its own
// bookkeeping, which with a shared address space is the parent's bookkeeping, and the parent then dies with
// "starting new threads after multi-threaded fork" (and its vfork is a real fork, so the child's errno would
// never reach us). Under TSan, call libc's functions directly; the child runs no instrumented code, so TSan
// has nothing to learn from it.
template <class Fn>
Fn resolve_libc(const char* name, Fn ours) {
#ifdef SLUICE_TSAN
  if (void* libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD)) {
    void* sym = dlsym(libc, name);
    dlclose(libc);
    if (sym) return reinterpret_cast<Fn>(sym);
  }
#else
  (void)name;
#endif
  return ours;
}

struct child_context {
  const spawn_request* req;
  const sigset_t* caller_mask;  // the mask to exec with; nullptr: the child runs with it already (clone3)
  std::uint64_t unblock;        // with caller_mask nullptr: the kernel sigset the child unblocks (SIGPIPE), or 0
  volatile int error;
  volatile int step;
  int close_range_fault;  // an injected close_range errno (fault seam), decided in the parent; 0: none
  pid_t parent;           // the caller's process id, read before clone
  bool shares_files;      // started with CLONE_FILES: must take a private descriptor table before touching one
  bool handlers_cleared;  // started with CLONE_CLEAR_SIGHAND: no caught handler is left in the child
};

SLUICE_NO_SANITIZE long sys(long n, long a = 0, long b = 0, long c = 0, long d = 0) {
  return syscall(n, a, b, c, d);
}

SLUICE_NO_SANITIZE int child_fail(child_context* ctx, spawn_step step) {
  ctx->error = errno;
  ctx->step = static_cast<int>(step);
  syscall(SYS_exit_group, 127);
  return 127;
}

SLUICE_NO_SANITIZE bool is_passed(const spawn_request* r, int fd) {
  for (std::size_t i = 0; i < r->n_pass_fds; ++i)
    if (r->pass_fds[i] == fd) return true;
  return false;
}

// The highest descriptor the child needs: its standard streams' sources and pass_fds (2 at least).
SLUICE_NO_SANITIZE int highest_kept_fd(const spawn_request* r) {
  int high = 2;
  for (int fd : r->std_fds)
    if (fd > high) high = fd;
  for (std::size_t i = 0; i < r->n_pass_fds; ++i)
    if (r->pass_fds[i] > high) high = r->pass_fds[i];
  return high;
}

// close_fds without close_range (kernels before 5.9): walk /proc/self/fd with getdents64.
SLUICE_NO_SANITIZE bool close_by_proc(const spawn_request* r) {
  long dir = sys(SYS_openat, AT_FDCWD, reinterpret_cast<long>("/proc/self/fd"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return false;
  alignas(8) char buf[2048];
  for (;;) {
    long n = sys(SYS_getdents64, dir, reinterpret_cast<long>(buf), sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      // struct linux_dirent64 { u64 ino; s64 off; u16 reclen; u8 type; char name[]; }
      unsigned short reclen;
      std::memcpy(&reclen, buf + off + 16, sizeof reclen);
      const char* name = buf + off + 19;
      off += reclen;
      if (name[0] < '0' || name[0] > '9') continue;
      long fd = 0;
      for (const char* p = name; *p >= '0' && *p <= '9'; ++p) fd = fd * 10 + (*p - '0');
      if (fd >= 3 && fd != dir && !is_passed(r, static_cast<int>(fd))) sys(SYS_close, fd);
    }
  }
  sys(SYS_close, dir);
  return true;
}

SLUICE_NO_SANITIZE int child_main(void* arg) {
  auto* ctx = static_cast<child_context*>(arg);
  const spawn_request* r = ctx->req;

  // Descriptors at or above this are closed already (by the close_range that gave the child its own table).
  unsigned closed_from = ~0U;
  if (ctx->shares_files) {
    // Before any descriptor is touched: a private table with only what the child may keep. A kernel without
    // CLOSE_RANGE_UNSHARE (before 5.9) copies the whole table instead, as a plain clone would have.
    const long keep = highest_kept_fd(r) + 1;
    if (sys(SYS_close_range, keep, ~0U, CLOSE_RANGE_UNSHARE) == 0)
      closed_from = static_cast<unsigned>(keep);
    else if (sys(SYS_unshare, CLONE_FILES) != 0)
      return child_fail(ctx, spawn_step::other);
  }

  // Handlers first: until they are SIG_DFL or SIG_IGN, no signal may be unblocked. After CLONE_CLEAR_SIGHAND
  // only restore_signals is left to do: SIGPIPE and SIGXFSZ back to SIG_DFL from SIG_IGN.
  if (ctx->handlers_cleared && r->restore_signals) {
    kernel_sigaction dfl{};
    dfl.handler = SIG_DFL;
    sys(SYS_rt_sigaction, SIGPIPE, reinterpret_cast<long>(&dfl), 0, 8);
    sys(SYS_rt_sigaction, SIGXFSZ, reinterpret_cast<long>(&dfl), 0, 8);
  }
  for (int sig = 1; sig <= kernel_nsig && !ctx->handlers_cleared; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    kernel_sigaction old{};
    if (sys(SYS_rt_sigaction, sig, 0, reinterpret_cast<long>(&old), 8) != 0) continue;
    bool reset = old.handler != SIG_DFL && old.handler != SIG_IGN;
    if (r->restore_signals && (sig == SIGPIPE || sig == SIGXFSZ)) reset = old.handler != SIG_DFL;
    if (reset) {
      kernel_sigaction dfl{};
      dfl.handler = SIG_DFL;
      sys(SYS_rt_sigaction, sig, reinterpret_cast<long>(&dfl), 0, 8);
    }
  }

  for (std::size_t i = 0; i < r->n_pass_fds; ++i)
    if (sys(SYS_fcntl, r->pass_fds[i], F_SETFD, 0) != 0) return child_fail(ctx, spawn_step::dup);

  // A source descriptor that is itself 0, 1 or 2 could be overwritten by an earlier dup3 (the parent's
  // standard streams may be closed or swapped): move such sources above 2 first.
  int src[3] = {r->std_fds[0], r->std_fds[1], r->std_fds[2]};
  for (int i = 0; i < 3; ++i) {
    if (src[i] >= 0 && src[i] < 3 && src[i] != i) {
      long moved = sys(SYS_fcntl, src[i], F_DUPFD_CLOEXEC, 3);
      if (moved < 0) return child_fail(ctx, spawn_step::dup);
      for (int j = i + 1; j < 3; ++j)
        if (src[j] == src[i]) src[j] = static_cast<int>(moved);
      src[i] = static_cast<int>(moved);
    }
  }
  for (int i = 0; i < 3; ++i) {
    if (src[i] < 0) continue;
    long rc = src[i] == i ? sys(SYS_fcntl, i, F_SETFD, 0) : sys(SYS_dup3, src[i], i, 0);
    if (rc < 0) return child_fail(ctx, spawn_step::dup);
  }

  if (r->cwd && sys(SYS_chdir, reinterpret_cast<long>(r->cwd)) != 0) return child_fail(ctx, spawn_step::cwd);
  if (r->umask >= 0) sys(SYS_umask, r->umask);
  if (r->set_niceness) sys(SYS_setpriority, PRIO_PROCESS, 0, r->niceness);
  if (r->new_session && sys(SYS_setsid) < 0) return child_fail(ctx, spawn_step::setsid);
  if (r->process_group >= 0 && sys(SYS_setpgid, 0, r->process_group) != 0)
    return child_fail(ctx, spawn_step::setpgid);
  if (r->parent_death_signal > 0) {
    if (sys(SYS_prctl, PR_SET_PDEATHSIG, r->parent_death_signal) != 0) return child_fail(ctx, spawn_step::pdeathsig);
    // The parent may have died before the prctl (a SIGKILL reaches it even while CLONE_VFORK suspends it): the
    // child was then adopted by a reaper and would never get the signal. It takes it now; all signals are
    // blocked here, so it arrives when the caller's mask is restored below, before exec.
    if (sys(SYS_getppid) != ctx->parent) sys(SYS_kill, sys(SYS_getpid), r->parent_death_signal);
  }

  if (r->close_fds) {
    unsigned lo = 3;
    bool ok = !r->walk_proc_fds && ctx->close_range_fault == 0;
    for (std::size_t i = 0; i < r->n_pass_fds && ok; ++i) {
      auto p = static_cast<unsigned>(r->pass_fds[i]);
      if (p < lo) continue;
      if (p > lo) ok = sys(SYS_close_range, lo, p - 1, 0) == 0;
      lo = p + 1;
    }
    // Above closed_from nothing is open (the usual case closed_from == 3 makes this call unnecessary).
    if (ok && lo < closed_from) ok = sys(SYS_close_range, lo, ~0U, 0) == 0;
    // Without close_range every descriptor the library made is close-on-exec anyway; /proc covers the rest.
    if (!ok) close_by_proc(r);
  }

  if (ctx->caller_mask != nullptr)
    sys(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(ctx->caller_mask), 0, 8);
  else if (ctx->unblock != 0)
    sys(SYS_rt_sigprocmask, SIG_UNBLOCK, reinterpret_cast<long>(&ctx->unblock), 0, 8);

  // PATH search as CPython's child does it: report the first error that is not "not here".
  int saved = 0;
  for (std::size_t i = 0; i < r->n_exec_paths; ++i) {
    sys(SYS_execve, reinterpret_cast<long>(r->exec_paths[i]), reinterpret_cast<long>(r->argv),
        reinterpret_cast<long>(r->envp));
    if (errno != ENOENT && errno != ENOTDIR && saved == 0) saved = errno;
  }
  if (saved != 0) errno = saved;
  if (r->n_exec_paths == 0) errno = ENOENT;
  return child_fail(ctx, spawn_step::exec);
}

#if defined(__x86_64__) && defined(SYS_clone3)
#define SLUICE_HAVE_CLONE3 1
// The kernel's struct clone_args up to tls (CLONE_ARGS_SIZE_VER0, Linux 5.3).
struct clone3_args {
  std::uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};
constexpr std::uint64_t clone_pidfd = 0x1000;                // CLONE_PIDFD
constexpr std::uint64_t clone_clear_sighand = 0x100000000;   // CLONE_CLEAR_SIGHAND (Linux 5.5)

// clone3(args, size); in the child (on args->stack) calls fn(arg) and exits with its result. Returns the
// child's pid in the parent, or -errno. Only rax, rcx and r11 change across the syscall, in both processes,
// so fn and arg travel in r8 and r9; the child aligns its stack for the call.
extern "C" long sluice_detail_clone3(const clone3_args* args, std::size_t size, int (*fn)(void*), void* arg);
asm(R"(
    .text
    .p2align 4
    .globl sluice_detail_clone3
    .hidden sluice_detail_clone3
    .type sluice_detail_clone3, @function
sluice_detail_clone3:
    .cfi_startproc
    endbr64
    mov %rdx, %r8
    mov %rcx, %r9
    mov $435, %eax
    syscall
    test %rax, %rax
    jz 1f
    ret
1:
    .cfi_undefined rip
    xor %ebp, %ebp
    and $-16, %rsp
    mov %r9, %rdi
    call *%r8
    mov %eax, %edi
    mov $231, %eax
    syscall
    hlt
    .cfi_endproc
    .size sluice_detail_clone3, .-sluice_detail_clone3
)");

std::atomic<bool> clone3_refused{false};  // ENOSYS, EINVAL (no CLONE_CLEAR_SIGHAND), EPERM, E2BIG: clone only
#endif

}  // namespace

void forget_clone3_refusal() noexcept {
#ifdef SLUICE_HAVE_CLONE3
  clone3_refused.store(false, std::memory_order_relaxed);
#endif
}

namespace {

// The fallback spawn. vfork returns twice into this frame, so the child must never return from here: it calls
// child_main, which ends in execve or exit_group.
SLUICE_NO_SANITIZE pid_t vfork_child(child_context* ctx) {
  static const vfork_fn do_vfork = resolve_libc<vfork_fn>("vfork", &::vfork);
  pid_t pid = do_vfork();
  if (pid == 0) child_main(ctx);
  return pid;
}

}  // namespace

spawn_result spawn(const spawn_request& in_req) noexcept {
  spawn_request req = in_req;
  if (close_range_disabled_for_testing()) req.walk_proc_fds = true;
  spawn_result result;
  const int saved_errno = errno;
  // The child gets the caller's mask, less a SIGPIPE block of our own (an aio loop's thread, a write in
  // progress): a program started from there must still die of SIGPIPE, as `yes | head -1` expects.
  const bool unblock_sigpipe = sigpipe_blocked_by_us();
  sigset_t caller, child_mask;
  bool blocked = false;

  // The child runs on this buffer while this thread is suspended (CLONE_VFORK), so the parent's own frames
  // above it stay untouched and no allocation is needed. 16 KiB covers child_main's frame, the getdents
  // buffer and libc's syscall().
  alignas(64) unsigned char stack[16 * 1024];
  // The parent's pid only serves the parent-death check: no getpid() per spawn without one.
  child_context ctx{&req, nullptr, unblock_sigpipe ? std::uint64_t{1} << (SIGPIPE - 1) : 0, 0, 0,
                    req.close_fds ? fault::take(sys_call::close_range) : 0,
                    req.parent_death_signal > 0 ? ::getpid() : 0, false, false};
  // Sharing the table pays off only when the child closes what it does not keep, with close_range.
  ctx.shares_files = req.close_fds && !req.walk_proc_fds && ctx.close_range_fault == 0;
  pid_t pid = -1;
  int pidfd = -1;
  bool have_pidfd = false;
#ifdef SLUICE_HAVE_CLONE3
  // An injected clone3 fault is a refusal like the kernel's. Other armed faults (a failing spawn, a refused
  // close_range) are acted out on the clone path only, so clone3 stays out of their way.
  if (const int injected = fault::take(sys_call::clone3); injected != 0)
    clone3_refused.store(true, std::memory_order_relaxed);
  else if (!fault::armed.load(std::memory_order_relaxed) && !clone3_refused.load(std::memory_order_relaxed)) {
    const bool want_pidfd = pidfd_usable();
    clone3_args args{};
    args.flags = CLONE_VM | CLONE_VFORK | (ctx.shares_files ? CLONE_FILES : 0) | clone_clear_sighand |
                 (want_pidfd ? clone_pidfd : 0);
    args.pidfd = reinterpret_cast<std::uintptr_t>(&pidfd);
    args.exit_signal = SIGCHLD;
    args.stack = reinterpret_cast<std::uintptr_t>(stack);
    args.stack_size = sizeof stack;
    ctx.handlers_cleared = true;
    const long r = sluice_detail_clone3(&args, sizeof args, child_main, &ctx);
    if (r > 0) {
      pid = static_cast<pid_t>(r);
      have_pidfd = want_pidfd;
    } else {
      ctx.handlers_cleared = false;
      pidfd = -1;
      if (r == -ENOSYS || r == -EINVAL || r == -EPERM || r == -E2BIG)
        clone3_refused.store(true, std::memory_order_relaxed);
    }
  }
#endif
  static const clone_fn do_clone = resolve_libc<clone_fn>("clone", &::clone);
  if (pid < 0) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &caller);
    blocked = true;
    child_mask = caller;
    if (unblock_sigpipe) sigdelset(&child_mask, SIGPIPE);
    ctx.caller_mask = &child_mask;
    pid = fault::call_or_fail(sys_call::spawn, [&] {
      const int files = ctx.shares_files ? CLONE_FILES : 0;
      return do_clone(child_main, stack + sizeof stack, CLONE_VM | CLONE_VFORK | files | SIGCHLD, &ctx);
    });
  }
  // A sandbox (seccomp) may refuse clone with these flags, or the kernel lack it (ENOSYS under some
  // emulators): vfork gives the same contract -- shared memory, parent suspended until exec or exit -- on
  // the parent's own stack, below the frame of vfork_child, with a copied descriptor table.
  if (pid < 0 && (errno == ENOSYS || errno == EPERM)) {
    ctx.shares_files = false;
    pid = vfork_child(&ctx);
  }
  const int clone_errno = errno;
  if (blocked) pthread_sigmask(SIG_SETMASK, &caller, nullptr);

  if (pid < 0) {
    result.error = clone_errno;
    result.step = spawn_step::other;
  } else if (ctx.step != 0) {
    result.error = ctx.error;
    result.step = static_cast<spawn_step>(ctx.step);
    if (pidfd >= 0) close_fd(pidfd);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  } else {
    result.pid = pid;
    result.pidfd = have_pidfd ? pidfd : open_pidfd(pid);
  }
  errno = saved_errno;
  return result;
}

}  // namespace sluice::detail::os
